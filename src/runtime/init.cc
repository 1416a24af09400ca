#include "runtime/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/namespaces.h"
#include "runtime/process.h"
#include "runtime/rootfs.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

[[noreturn]] void die(const InitArgs& a, const Error& e) {
  (void)sync::send(a.sync_fd, sync::Type::kError, e.sys_errno(), e.message());
  _exit(1);
}

#define INIT_CHECK(a, expr)                \
  do {                                     \
    auto init_r_ = (expr);                 \
    if (!init_r_) die(a, init_r_.error()); \
  } while (0)

// Ends with the container process blocked in the exec helper until `start`.
[[noreturn]] void init_main(const InitArgs& a, UniqueFd fifo) {
  const oci::Spec& s = *a.spec;
  const oci::Process& p = *s.process;
  // getppid() is 0 in a new pid namespace; a parent that died before this point shows
  // up as a failed send on the sync socket instead.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // 1. Process settings that need the host's /proc or privileges we will drop.
  if (p.oom_score_adj) INIT_CHECK(a, set_oom_score_adj(*p.oom_score_adj));
  INIT_CHECK(a, set_rlimits(p.rlimits));

  // 2. Root file system.
  RootfsContext ctx;
  ctx.spec = a.spec;
  ctx.bundle = a.bundle;
  ctx.rootfs = a.rootfs;
  ctx.userns = s.linux.find_namespace(oci::NsType::kUser) != nullptr;
  const oci::Namespace* net = s.linux.find_namespace(oci::NsType::kNetwork);
  ctx.netns = net && net->path.empty();
  ctx.cgroupns = s.linux.find_namespace(oci::NsType::kCgroup) != nullptr;
  ctx.no_pivot = a.no_pivot;
  ctx.cgroups = a.cgroups;
  auto rootfd = prepare_rootfs(ctx, *a.plan);
  if (!rootfd && rootfd.error().sys_errno() == EACCES && ctx.userns)
    rootfd.error().wrap(
        "the user namespace's root cannot reach the rootfs (make its parent "
        "directories searchable by the mapped uid)");
  if (!rootfd) die(a, rootfd.error());
  if (a.hooks_before_pivot) {
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kBeforePivot));
    INIT_CHECK(a, sync::expect(a.sync_fd, sync::Type::kContinue));
  }
  INIT_CHECK(a, enter_rootfs(ctx, rootfd->get()));
  rootfd->reset();
  INIT_CHECK(a, finish_rootfs(ctx));

  // 3. Names.
  if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) != 0)
    die(a, sys_error(errno, "hostname {:?}", s.hostname));
  if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) != 0)
    die(a, sys_error(errno, "domainname {:?}", s.domainname));

  // 4. Identity and privileges.
  if (p.capabilities) INIT_CHECK(a, drop_bounding_set(*p.capabilities));
  INIT_CHECK(a, switch_user(p.user));
  if (p.capabilities) INIT_CHECK(a, set_capabilities(*p.capabilities));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    die(a, sys_error(errno, "process.noNewPrivileges"));
  if (::chdir(p.cwd.c_str()) != 0) die(a, sys_error(errno, "process.cwd: chdir {}", p.cwd));
  // Never leave a cwd outside the container (the CVE-2024-21626 class).
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    die(a, make_error(ErrorKind::kInternal, "process.cwd: {} is not inside the container", p.cwd));

  // 5. The program.
  std::vector<std::string> env = final_env(p);
  auto exe = find_executable(p.args[0], env);
  if (!exe) die(a, exe.error());

  // 6. Only stdio and the preserved fds pass; everything else is closed by the exec.
  unsigned first_free = 3 + static_cast<unsigned>(a.preserve_fds);
  if (sys::close_range(first_free, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    die(a, sys_error(errno, "close_range"));
  int fifo_fd = ::fcntl(fifo.get(), F_DUPFD, static_cast<int>(first_free));
  if (fifo_fd < 0) die(a, sys_error(errno, "dup exec fifo"));

  INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kReady));
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  auto r = exec_via_helper(fifo_fd, -1, 0, *exe, p.args, env);
  die(a, r.error());
}

pid_t fork_init(const InitArgs& a) {
  // CLONE_PARENT: the init becomes berth-runtime's child (so `run` can wait for it), not
  // stage 1's.
  struct clone_args ca {};
  ca.flags = CLONE_PARENT;
  ca.exit_signal = 0;
  pid_t pid = sys::clone3(&ca);
  if (pid < 0 && errno == ENOSYS) {
    pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT, nullptr, nullptr, nullptr, 0));
  }
  (void)a;
  return pid;
}

}  // namespace

void stage1_main(const InitArgs& a) {
  const oci::Linux& l = a.spec->linux;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != a.parent) _exit(1);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  INIT_CHECK(a, sync::expect(a.sync_fd, sync::Type::kGo));
  // Opened before any namespace changes: the state dir may not be reachable from a user
  // namespace.
  UniqueFd fifo(::open(a.fifo_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo) die(a, sys_error(errno, "open exec fifo {}", a.fifo_path));
  INIT_CHECK(a, join_namespaces(l));
  int flags = new_namespace_flags(l);
  if (flags && ::unshare(flags) != 0) die(a, sys_error(errno, "linux.namespaces: unshare"));
  if (flags & CLONE_NEWUSER) {
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kUsernsReady, getpid()));
    INIT_CHECK(a, sync::expect(a.sync_fd, sync::Type::kUsernsMapped));
    // Become root of the new namespace where it is mapped (a rootless map may not have 0).
    (void)::syscall(SYS_setresgid, 0, 0, 0);
    (void)::syscall(SYS_setresuid, 0, 0, 0);
  }
  if (flags & CLONE_NEWTIME) INIT_CHECK(a, write_time_offsets(l));
  if (needs_fork(l)) {
    pid_t pid = fork_init(a);
    if (pid < 0) die(a, sys_error(errno, "fork the container init"));
    if (pid == 0) init_main(a, std::move(fifo));
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, pid));
    _exit(0);
  }
  INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, getpid()));
  init_main(a, std::move(fifo));
}

}  // namespace berth::runtime
