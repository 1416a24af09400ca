#include "runtime/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "sys/syscalls.h"

extern "C" const char berth_exec_helper_start[];
extern "C" const char berth_exec_helper_end[];

namespace berth::runtime {

Result<void> set_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    rlimit rl{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &rl) != 0) {
      int e = errno;
      rlimit cur{};
      ::getrlimit(static_cast<__rlimit_resource>(r.resource), &cur);
      return fail(
          Error(ErrorKind::kPermissionDenied,
                fmt::format("process.rlimits: cannot set {} to soft {} hard {} (this host's "
                            "hard limit is {}; raising it needs CAP_SYS_RESOURCE)",
                            r.type, r.soft, r.hard, cur.rlim_max),
                e));
    }
  }
  return {};
}

Result<void> set_oom_score_adj(int value) {
  auto r = file::write("/proc/self/oom_score_adj", std::to_string(value));
  if (!r) return fail(std::move(r.error()).wrap(fmt::format("process.oomScoreAdj {}", value)));
  return {};
}

Result<void> drop_bounding_set(const oci::Capabilities& caps) {
  for (int c = 0; c <= 63; ++c) {
    if (caps.bounding & (1ULL << c)) continue;
    // Dropping a capability that is gone already succeeds; EINVAL: past this kernel's last
    // one (no PR_CAPBSET_READ first: one system call per capability instead of two).
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) break;
    // Without CAP_SETPCAP nothing can be dropped: fine for what is not there anyway.
    if (errno == EPERM && ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0) continue;
    return fail(
        sys_error(errno, "drop capability {} from the bounding set", oci::capability_name(c)));
  }
  return {};
}

Result<void> switch_user(const oci::User& u) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail(sys_error(errno, "PR_SET_KEEPCAPS"));
  std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) {
    // A user namespace with setgroups denied: only an empty list would have worked.
    if (!(errno == EPERM && groups.empty()))
      return fail(sys_error(errno, "process.user.additionalGids: setgroups"));
  }
  // glibc's setresuid would signal every thread; the init has one, so use the raw calls.
  if (::syscall(SYS_setresgid, u.gid, u.gid, u.gid) != 0)
    return fail(sys_error(errno, "process.user.gid: set gid {}", u.gid));
  if (::syscall(SYS_setresuid, u.uid, u.uid, u.uid) != 0)
    return fail(sys_error(errno, "process.user.uid: set uid {}", u.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail(sys_error(errno, "PR_SET_KEEPCAPS"));
  if (u.umask) ::umask(*u.umask & 0777);
  return {};
}

Result<void> set_capabilities(const oci::Capabilities& caps) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(caps.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(caps.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(caps.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &hdr, data) != 0)
    return fail(sys_error(errno, "process.capabilities: capset"));
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return fail(sys_error(errno, "process.capabilities.ambient: clear"));
  for (int c = 0; c <= 63; ++c) {
    if (!(caps.ambient & (1ULL << c))) continue;
    // As runc does, an ambient capability that is not also permitted and inheritable is
    // skipped with a warning (runc's own default spec asks for such).
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
      log::debug("process.capabilities.ambient: {} skipped: it is not in the inheritable set",
                 oci::capability_name(c));
  }
  return {};
}

namespace {

std::string env_get(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return {};
}

bool has_env(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return true;
  return false;
}

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto check = [](const std::string& p) -> int {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (::access(p.c_str(), X_OK) != 0) return errno;
    return 0;
  };
  if (name.find('/') != std::string::npos) {
    int e = check(name);
    if (e)
      return fail(Error(e == ENOENT ? ErrorKind::kNotFound : ErrorKind::kPermissionDenied,
                        fmt::format("process.args: exec {:?}", name), e));
    return name;
  }
  std::string p = has_env(env, "PATH") ? env_get(env, "PATH") : kDefaultPath;
  int first_err = ENOENT;
  for (const std::string& dir : split(p, ':')) {
    std::string cand = path::join(dir.empty() ? "." : dir, name);
    int e = check(cand);
    if (e == 0) return cand;
    if (e != ENOENT && first_err == ENOENT) first_err = e;
  }
  if (first_err != ENOENT)
    return fail(Error(ErrorKind::kPermissionDenied, fmt::format("process.args: exec {:?}", name),
                      first_err));
  return fail(Error(ErrorKind::kNotFound,
                    fmt::format("process.args: executable {:?} not found in $PATH", name)));
}

std::vector<std::string> final_env(const oci::Process& p) {
  std::vector<std::string> env = p.env;
  if (!has_env(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
  if (!has_env(env, "HOME")) {
    std::string home = "/";
    if (auto passwd = file::read("/etc/passwd")) {
      for (const std::string& line : split(*passwd, '\n')) {
        std::vector<std::string> f = split(line, ':');
        if (f.size() >= 6 && parse_uint(f[2]) == p.user.uid && !f[5].empty()) {
          home = f[5];
          break;
        }
      }
    }
    env.push_back("HOME=" + home);
  }
  return env;
}

Result<UniqueFd> make_exec_helper() {
  size_t size = static_cast<size_t>(berth_exec_helper_end - berth_exec_helper_start);
  UniqueFd mfd(
      static_cast<int>(::syscall(SYS_memfd_create, "berth-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mfd) return fail(sys_error(errno, "memfd_create"));
  const char* p = berth_exec_helper_start;
  size_t left = size;
  while (left) {
    ssize_t n = ::write(mfd.get(), p, left);
    if (n <= 0) return fail(sys_error(errno, "write exec helper"));
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fcntl(mfd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) !=
      0)
    return fail(sys_error(errno, "seal exec helper"));
  return mfd;
}

Result<void> exec_via_helper(int helper_fd, int fifo_fd, int seccomp_fd, unsigned seccomp_flags,
                             int hold_fd, const std::string& path,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& env) {
  std::vector<std::string> args = {"berth-exec",
                                   std::to_string(fifo_fd),
                                   std::to_string(seccomp_fd),
                                   std::to_string(seccomp_flags),
                                   std::to_string(hold_fd),
                                   path};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<char*> av, ev;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  std::vector<std::string> envc = env;
  for (auto& e : envc) ev.push_back(e.data());
  ev.push_back(nullptr);
  sys::execveat(helper_fd, "", av.data(), ev.data(), AT_EMPTY_PATH);
  return fail(sys_error(errno, "exec the berth exec helper"));
}

}  // namespace berth::runtime
