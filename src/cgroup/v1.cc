// cgroup v1: one directory per hierarchy (memory, cpu, cpuset, pids, ... and named ones).
#include <time.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "cgroup/backends.h"

namespace berth::cgroup {

V1::V1(const Layout& layout, std::string path) : layout_(layout), path_(std::move(path)) {}

Result<void> V1::open() {
  for (const auto& h : layout_.hierarchies) {
    if (h.unified) continue;
    fs::Dir d = BERTH_TRY(fs::open_dir(h.mount_point, path_, h.mount_root));
    dirs_.push_back({&h, std::move(d)});
  }
  if (dirs_.empty()) return fail(make_error(ErrorKind::kUnavailable, "no cgroup v1 hierarchy"));
  return {};
}

const fs::Dir* V1::dir(std::string_view controller) const {
  for (const auto& e : dirs_)
    if (e.h->has(controller)) return &e.dir;
  return nullptr;
}

Result<const fs::Dir*> V1::need(std::string_view controller, std::string_view what) const {
  const fs::Dir* d = dir(controller);
  if (!d)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.{}: the {} cgroup controller is not available on "
                           "this host",
                           what, controller));
  return d;
}

// A new v1 cpuset is empty and takes no tasks: give it its parent's cpus and mems. The
// parent may be new and still empty too (another berth made it a moment ago and has not
// filled it yet): fill the ancestors first, from the nearest filled one down.
Result<void> fill_cpuset(int root, const std::string& rel) {
  if (rel.empty()) return {};  // the hierarchy's root is always filled
  fs::Dir self{UniqueFd(::dup(root)), rel, rel};
  std::string parent_rel = rel.rfind('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/'));
  fs::Dir parent{UniqueFd(::dup(root)), parent_rel, parent_rel};
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    if (!trim(BERTH_TRY(fs::read(self, f))).empty()) continue;
    std::string v = std::string(trim(BERTH_TRY(fs::read(parent, f))));
    if (v.empty()) {
      BERTH_CHECK(fill_cpuset(root, parent_rel));
      v = std::string(trim(BERTH_TRY(fs::read(parent, f))));
    }
    BERTH_CHECK(fs::write(self, f, v.empty() ? "\n" : v));
  }
  return {};
}

Result<void> V1::create() {
  for (auto& e : dirs_) {
    bool cpuset = e.h->has("cpuset");
    BERTH_CHECK(fs::make(e.dir, [&](const std::string& rel) -> Result<void> {
      return cpuset ? fill_cpuset(e.dir.root.get(), rel) : Result<void>{};
    }));
  }
  return {};
}

Result<void> V1::add(pid_t pid) {
  std::string p = std::to_string(pid);
  for (auto& e : dirs_) BERTH_CHECK(fs::write(e.dir, "cgroup.procs", p));
  return {};
}

Result<void> V1::destroy() {
  Result<void> res;
  for (auto& e : dirs_) {
    if (auto r = fs::remove(e.dir); !r && res) res = std::move(r);
  }
  return res;
}

Result<std::vector<pid_t>> V1::pids() {
  const fs::Dir* d = dir("pids");
  if (!d) d = dir("freezer");
  if (!d) d = &dirs_.front().dir;
  return fs::read_pids(*d);
}

Result<void> V1::set_frozen(bool frozen) {
  const fs::Dir* d = BERTH_TRY(need("freezer", "freezer"));
  const char* want = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < 1000; ++i) {
    BERTH_CHECK(fs::write(*d, "freezer.state", want));
    std::string st(trim(BERTH_TRY(fs::read(*d, "freezer.state"))));
    if (st == want) return {};
    timespec ts{0, 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return fail(make_error(ErrorKind::kInternal, "cgroup {} did not reach state {}", path_, want));
}

Result<bool> V1::frozen() {
  const fs::Dir* d = dir("freezer");
  if (!d) return false;
  std::string st(trim(BERTH_TRY(fs::read(*d, "freezer.state"))));
  return st != "THAWED";
}

namespace {

std::string num_or_wild(const std::optional<int64_t>& v) {
  return v && *v >= 0 ? std::to_string(*v) : "*";
}

Result<void> write_num(const fs::Dir& d, std::string_view f, int64_t v) {
  return fs::write(d, f, std::to_string(v));
}

}  // namespace

Result<void> V1::apply_memory(const oci::Memory& m) {
  const fs::Dir* d = BERTH_TRY(need("memory", "memory"));
  if (m.limit || m.swap) {
    bool has_memsw = fs::has_file(*d, "memory.memsw.limit_in_bytes");
    bool want_swap = m.swap && (!m.limit || *m.swap != *m.limit);
    if (want_swap && !has_memsw && *m.swap != -1)
      return fail(make_error(ErrorKind::kUnavailable,
                             "linux.resources.memory.swap: swap accounting is not enabled on "
                             "this host"));
    auto set_limit = [&]() -> Result<void> {
      return m.limit ? write_num(*d, "memory.limit_in_bytes", *m.limit) : Result<void>{};
    };
    auto set_swap = [&]() -> Result<void> {
      if (!has_memsw) return {};
      int64_t v = m.swap ? *m.swap : *m.limit;
      return write_num(*d, "memory.memsw.limit_in_bytes", v);
    };
    // memory.limit_in_bytes may not exceed memsw: raise memsw first when the limit grows.
    if (auto r = set_limit(); !r) {
      BERTH_CHECK(set_swap());
      BERTH_CHECK(set_limit());
    } else {
      BERTH_CHECK(set_swap());
    }
  }
  if (m.reservation) BERTH_CHECK(write_num(*d, "memory.soft_limit_in_bytes", *m.reservation));
  if (m.kernel) log::warn("linux.resources.memory.kernel is deprecated and ignored");
  if (m.kernel_tcp) BERTH_CHECK(write_num(*d, "memory.kmem.tcp.limit_in_bytes", *m.kernel_tcp));
  if (m.swappiness) {
    if (*m.swappiness > 100)
      return fail(invalid("linux.resources.memory.swappiness: {} is above 100", *m.swappiness));
    BERTH_CHECK(fs::write(*d, "memory.swappiness", std::to_string(*m.swappiness)));
  }
  if (m.disable_oom_killer && *m.disable_oom_killer)
    BERTH_CHECK(fs::write(*d, "memory.oom_control", "1"));
  if (m.use_hierarchy)
    BERTH_CHECK(fs::write(*d, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0"));
  return {};
}

Result<void> V1::apply_cpu(const oci::Cpu& c) {
  if (c.shares || c.quota || c.period || c.burst || c.realtime_period || c.realtime_runtime ||
      c.idle) {
    const fs::Dir* d = BERTH_TRY(need("cpu", "cpu"));
    if (c.shares) BERTH_CHECK(fs::write(*d, "cpu.shares", std::to_string(*c.shares)));
    if (c.period) BERTH_CHECK(fs::write(*d, "cpu.cfs_period_us", std::to_string(*c.period)));
    if (c.quota) BERTH_CHECK(write_num(*d, "cpu.cfs_quota_us", *c.quota));
    if (c.burst) BERTH_CHECK(fs::write(*d, "cpu.cfs_burst_us", std::to_string(*c.burst)));
    if (c.realtime_period)
      BERTH_CHECK(fs::write(*d, "cpu.rt_period_us", std::to_string(*c.realtime_period)));
    if (c.realtime_runtime) BERTH_CHECK(write_num(*d, "cpu.rt_runtime_us", *c.realtime_runtime));
    if (c.idle) BERTH_CHECK(write_num(*d, "cpu.idle", *c.idle));
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    const fs::Dir* d = BERTH_TRY(need("cpuset", "cpu.cpus"));
    if (!c.cpus.empty()) BERTH_CHECK(fs::write(*d, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_CHECK(fs::write(*d, "cpuset.mems", c.mems));
  }
  return {};
}

Result<void> V1::apply_blkio(const oci::BlockIo& b) {
  const fs::Dir* d = BERTH_TRY(need("blkio", "blockIO"));
  auto pick = [&](const char* plain, const char* bfq) -> Result<std::string> {
    if (fs::has_file(*d, plain)) return std::string(plain);
    if (fs::has_file(*d, bfq)) return std::string(bfq);
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.blockIO: this host's I/O scheduler has no {}", plain));
  };
  if (b.weight) {
    std::string f = BERTH_TRY(pick("blkio.weight", "blkio.bfq.weight"));
    BERTH_CHECK(fs::write(*d, f, std::to_string(*b.weight)));
  }
  if (b.leaf_weight)
    BERTH_CHECK(fs::write(*d, "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
  for (const auto& w : b.weight_device) {
    if (w.weight) {
      std::string f = BERTH_TRY(pick("blkio.weight_device", "blkio.bfq.weight_device"));
      BERTH_CHECK(fs::write(*d, f, fmt::format("{}:{} {}", w.major, w.minor, *w.weight)));
    }
    if (w.leaf_weight)
      BERTH_CHECK(fs::write(*d, "blkio.leaf_weight_device",
                            fmt::format("{}:{} {}", w.major, w.minor, *w.leaf_weight)));
  }
  auto throttle = [&](const std::vector<oci::ThrottleDevice>& v, const char* f) -> Result<void> {
    for (const auto& t : v)
      BERTH_CHECK(fs::write(*d, f, fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
    return {};
  };
  BERTH_CHECK(throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device"));
  BERTH_CHECK(throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device"));
  BERTH_CHECK(throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device"));
  BERTH_CHECK(throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device"));
  return {};
}

Result<void> V1::apply(const oci::Resources& r) {
  if (!r.devices.empty()) {
    const fs::Dir* d = BERTH_TRY(need("devices", "devices"));
    for (const auto& rule : r.devices) {
      std::string line =
          rule.type == 'a' && !rule.major && !rule.minor
              ? fmt::format("a *:* {}", rule.access.empty() ? "rwm" : rule.access)
              : fmt::format("{} {}:{} {}", rule.type, num_or_wild(rule.major),
                            num_or_wild(rule.minor), rule.access.empty() ? "rwm" : rule.access);
      BERTH_CHECK(fs::write(*d, rule.allow ? "devices.allow" : "devices.deny", line));
    }
  }
  if (r.memory) BERTH_CHECK(apply_memory(*r.memory));
  if (r.cpu) BERTH_CHECK(apply_cpu(*r.cpu));
  if (r.pids_limit && *r.pids_limit != 0) {
    const fs::Dir* d = BERTH_TRY(need("pids", "pids"));
    BERTH_CHECK(
        fs::write(*d, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
  }
  if (r.block_io) BERTH_CHECK(apply_blkio(*r.block_io));
  for (const auto& h : r.hugepage_limits) {
    const fs::Dir* d = BERTH_TRY(need("hugetlb", "hugepageLimits"));
    std::string size = BERTH_TRY(hugepage_size_name(h.page_size));
    BERTH_CHECK(
        fs::write(*d, fmt::format("hugetlb.{}.limit_in_bytes", size), std::to_string(h.limit)));
  }
  if (r.network) {
    if (r.network->class_id) {
      const fs::Dir* d = BERTH_TRY(need("net_cls", "network.classID"));
      BERTH_CHECK(fs::write(*d, "net_cls.classid", std::to_string(*r.network->class_id)));
    }
    for (const auto& [name, prio] : r.network->priorities) {
      const fs::Dir* d = BERTH_TRY(need("net_prio", "network.priorities"));
      BERTH_CHECK(fs::write(*d, "net_prio.ifpriomap", fmt::format("{} {}", name, prio)));
    }
  }
  if (!r.unified.empty())
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.unified: needs cgroup v2, and this host has v1"));
  if (r.has_rdma)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.rdma: the rdma controller is not supported"));
  return {};
}

Result<Stats> V1::stats() {
  Stats s;
  auto num = [](Result<std::string> r) -> uint64_t {
    if (!r) return 0;
    auto v = parse_uint(trim(*r));
    return v ? *v : 0;
  };
  if (const fs::Dir* d = dir("memory")) {
    s.memory_usage = num(fs::read(*d, "memory.usage_in_bytes"));
    s.memory_limit = num(fs::read(*d, "memory.limit_in_bytes"));
  }
  if (const fs::Dir* d = dir("cpuacct")) s.cpu_usage_ns = num(fs::read(*d, "cpuacct.usage"));
  if (const fs::Dir* d = dir("pids")) {
    s.pids_current = num(fs::read(*d, "pids.current"));
    s.pids_limit = num(fs::read(*d, "pids.max"));
  }
  return s;
}

std::vector<std::pair<const Hierarchy*, std::string>> V1::dirs() const {
  std::vector<std::pair<const Hierarchy*, std::string>> out;
  for (const auto& e : dirs_) out.emplace_back(e.h, e.dir.abs);
  return out;
}

}  // namespace berth::cgroup
