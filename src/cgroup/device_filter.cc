#include "cgroup/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.h"

namespace berth::cgroup {
namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

constexpr uint8_t kLdxW = BPF_LDX | BPF_W | BPF_MEM;
constexpr uint8_t kAndK = BPF_ALU | BPF_AND | BPF_K;
constexpr uint8_t kRshK = BPF_ALU | BPF_RSH | BPF_K;
constexpr uint8_t kMovX = BPF_ALU | BPF_MOV | BPF_X;
constexpr uint8_t kMov64K = BPF_ALU64 | BPF_MOV | BPF_K;
constexpr uint8_t kJneK = BPF_JMP | BPF_JNE | BPF_K;
constexpr uint8_t kJneX = BPF_JMP | BPF_JNE | BPF_X;
constexpr uint8_t kExit = BPF_JMP | BPF_EXIT;

int32_t access_bits(const std::string& access) {
  int32_t a = 0;
  for (char c : access.empty() ? std::string("rwm") : access) {
    if (c == 'r') a |= BPF_DEVCG_ACC_READ;
    if (c == 'w') a |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') a |= BPF_DEVCG_ACC_MKNOD;
  }
  return a;
}

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

std::vector<bpf_insn> build_device_program(const std::vector<oci::DeviceRule>& rules) {
  std::vector<bpf_insn> p;
  // r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx).
  p.push_back(insn(kLdxW, 2, 1, 0, 0));
  p.push_back(insn(kAndK, 2, 0, 0, 0xffff));
  p.push_back(insn(kLdxW, 3, 1, 0, 0));
  p.push_back(insn(kRshK, 3, 0, 0, 16));
  p.push_back(insn(kLdxW, 4, 1, 4, 0));
  p.push_back(insn(kLdxW, 5, 1, 8, 0));
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const oci::DeviceRule& r = *it;
    std::vector<bpf_insn> block;
    // Each check jumps to the end of this block (the next rule) when it does not match;
    // offsets are patched once the block's length is known.
    std::vector<size_t> jumps;
    if (r.type == 'c' || r.type == 'b') {
      jumps.push_back(block.size());
      block.push_back(
          insn(kJneK, 2, 0, 0, r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    }
    int32_t acc = access_bits(r.access);
    if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      // Matches only when every requested access bit is in the rule.
      block.push_back(insn(kMovX, 1, 3, 0, 0));
      block.push_back(insn(kAndK, 1, 0, 0, acc));
      jumps.push_back(block.size());
      block.push_back(insn(kJneX, 1, 3, 0, 0));
    }
    if (r.major && *r.major >= 0) {
      jumps.push_back(block.size());
      block.push_back(insn(kJneK, 4, 0, 0, static_cast<int32_t>(*r.major)));
    }
    if (r.minor && *r.minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(insn(kJneK, 5, 0, 0, static_cast<int32_t>(*r.minor)));
    }
    block.push_back(insn(kMov64K, 0, 0, 0, r.allow ? 1 : 0));
    block.push_back(insn(kExit, 0, 0, 0, 0));
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
    // A rule that matches everything decides alone; what follows could never run (and the
    // verifier refuses unreachable instructions).
    if (jumps.empty()) return p;
  }
  p.push_back(insn(kMov64K, 0, 0, 0, 0));
  p.push_back(insn(kExit, 0, 0, 0, 0));
  return p;
}

Result<void> attach_device_filter(int dirfd, const std::string& rel,
                                  const std::vector<oci::DeviceRule>& rules) {
  std::vector<bpf_insn> prog = build_device_program(rules);
  static const char kLicense[] = "Apache";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  UniqueFd pfd(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
  if (!pfd) {
    int e = errno;
    // Load again with the verifier's log, to say why.
    std::string vlog(16384, '\0');
    load.log_level = 1;
    load.log_buf = reinterpret_cast<uint64_t>(vlog.data());
    load.log_size = static_cast<uint32_t>(vlog.size());
    (void)bpf(BPF_PROG_LOAD, &load);
    vlog.resize(strlen(vlog.c_str()));
    while (!vlog.empty() && vlog.back() == '\n') vlog.pop_back();
    return fail(sys_error(e, "load the cgroup device filter (BPF){}{}", vlog.empty() ? "" : ": ",
                          vlog.substr(0, vlog.find('\n'))));
  }
  UniqueFd cg(::openat(dirfd, rel.empty() ? "." : rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return fail(sys_error(errno, "open cgroup {}", rel));
  // Programs attached before (an update) are detached after the new one is in place.
  uint32_t old_ids[64];
  bpf_attr q{};
  q.query.target_fd = static_cast<uint32_t>(cg.get());
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
  q.query.prog_cnt = 64;
  uint32_t n_old = bpf(BPF_PROG_QUERY, &q) == 0 ? q.query.prog_cnt : 0;
  bpf_attr at{};
  at.target_fd = static_cast<uint32_t>(cg.get());
  at.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &at) != 0)
    return fail(sys_error(errno, "attach the cgroup device filter to {}", rel));
  for (uint32_t i = 0; i < n_old; ++i) {
    bpf_attr g{};
    g.prog_id = old_ids[i];
    UniqueFd ofd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &g)));
    if (!ofd) continue;
    bpf_attr d{};
    d.target_fd = static_cast<uint32_t>(cg.get());
    d.attach_bpf_fd = static_cast<uint32_t>(ofd.get());
    d.attach_type = BPF_CGROUP_DEVICE;
    (void)bpf(BPF_PROG_DETACH, &d);
  }
  return {};
}

}  // namespace berth::cgroup
