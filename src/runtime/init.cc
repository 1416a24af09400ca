#include "runtime/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <functional>

#include "base/trace.h"
#include "oci/state.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/namespaces.h"
#include "runtime/process.h"
#include "runtime/process_attrs.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

[[noreturn]] void die(const InitArgs& a, const Error& e) {
  (void)sync::send(a.sync_fd, sync::Type::kError, sync::error_value(e), e.message());
  _exit(1);
}

#define INIT_CHECK(a, expr)                \
  do {                                     \
    auto init_r_ = (expr);                 \
    if (!init_r_) die(a, init_r_.error()); \
  } while (0)

// process.* attributes that apply to the process itself.
Result<void> apply_process_attrs(const InitArgs& a, const oci::Process& p) {
  if (a.spec->linux.personality) BERTH_CHECK(set_personality(*a.spec->linux.personality));
  if (p.io_priority) BERTH_CHECK(set_io_priority(*p.io_priority));
  if (p.scheduler) BERTH_CHECK(set_scheduler(*p.scheduler));
  if (p.exec_cpu_affinity)
    BERTH_CHECK(set_cpu_affinity(p.exec_cpu_affinity->final_, "process.execCPUAffinity.final"));
  return {};
}

// Identity, privileges, seccomp, and the exec through the helper. fifo: create's exec fifo
// (the helper waits on it for `start`), or empty (exec, or startContainer hooks already ran).
// ready_sent: the parent already had kReady (and may have closed its end).
[[noreturn]] void finish_and_exec(const InitArgs& a, const oci::Process& p, UniqueFd fifo,
                                  bool ready_sent = false) {
  const oci::Seccomp* sc = a.spec->linux.seccomp ? &*a.spec->linux.seccomp : nullptr;
  // With no_new_privs the helper loads the filter right before the user's exec; without it
  // the kernel wants CAP_SYS_ADMIN, so the filter goes in here, while we still have it.
  bool notify = sc && seccomp_uses_notify(*sc);
  bool load_now = sc && (!p.no_new_privileges || notify);
  if (p.capabilities) INIT_CHECK(a, drop_bounding_set(*p.capabilities));
  INIT_CHECK(a, apply_process_attrs(a, p));
  trace::mark("init: bounding set, attrs");

  // The fds and the helper's memfd are made ready before any filter goes in: a profile may
  // forbid fcntl or memfd_create, which are berth's needs, not the program's. After the load
  // only identity, cwd and the exec itself remain (as in runc).
  auto helper = make_exec_helper();
  if (!helper) die(a, helper.error());
  trace::mark("init: helper memfd");
  // Only stdio and the preserved fds pass; everything else is closed by the exec.
  unsigned first_free = 3 + static_cast<unsigned>(a.preserve_fds);
  if (sys::close_range(first_free, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    die(a, sys_error(errno, "close_range"));
  auto pass = [&](int fd) {
    if (fd < 0) return -1;
    int n = ::fcntl(fd, F_DUPFD, static_cast<int>(first_free));
    if (n < 0) die(a, sys_error(errno, "dup fd for the exec helper"));
    return n;
  };
  int fifo_fd = pass(fifo.get());
  int bpf_fd = sc && !load_now ? pass(a.seccomp_fd) : -1;
  // exec: the parent reports the process as running when the sync socket closes; the helper
  // holds a copy of it until the user's program itself is exec'd (not just the helper). Not
  // when the filter goes in here: the profile may forbid the helper's fcntl, and the socket
  // would then leak into the program; end of file then comes with the helper's exec.
  int hold_fd = a.mode == InitArgs::Mode::kExec && !load_now ? pass(a.sync_fd) : -1;

  if (load_now) {
    auto listener = load_seccomp_bpf(a.seccomp_fd, a.seccomp_flags, notify);
    if (!listener) die(a, listener.error());
    if (*listener)
      INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kSeccompFd, 0, {}, listener->get()));
  }
  trace::mark("init: fds, seccomp loaded");
  INIT_CHECK(a, switch_user(p.user));
  if (p.capabilities) INIT_CHECK(a, set_capabilities(*p.capabilities));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    die(a, sys_error(errno, "process.noNewPrivileges"));
  if (::chdir(p.cwd.c_str()) != 0) die(a, sys_error(errno, "process.cwd: chdir {}", p.cwd));
  // Never leave a cwd outside the container (the CVE-2024-21626 class).
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd) || cwd[0] != '/')
    die(a, make_error(ErrorKind::kInternal, "process.cwd: {} is not inside the container", p.cwd));

  trace::mark("init: user, caps, cwd");
  std::vector<std::string> env = final_env(p);
  auto exe = find_executable(p.args[0], env);
  if (!exe) die(a, exe.error());

  // The parent may exit as soon as it reads Ready: stop tying our life to it first (a
  // parent gone before the send shows up as a failed send).
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (!ready_sent) INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kReady));
  trace::mark("init: exe found, ready sent");
  auto r =
      exec_via_helper(helper->get(), fifo_fd, bpf_fd, a.seccomp_flags, hold_fd, *exe, p.args, env);
  if (ready_sent) {
    dprintf(2, "berth-runtime: %s\n", r.error().text().c_str());
    _exit(127);
  }
  die(a, r.error());
}

// The shared-memory path (CgroupHandoff): waits until the parent's thread has put this
// process in its cgroup, then unshares the cgroup namespace that direct_init_main left.
Result<void> join_cgroup_late(const InitArgs& a) {
  // The parent reports why (its thread's error), not this.
  if (CgroupHandoff::await(a.cgroup_handoff->joined) != CgroupHandoff::kJoined)
    return fail(make_error(ErrorKind::kInternal, "the container's cgroup was not made"));
  trace::mark("init: in its cgroup");
  if ((new_namespace_flags(a.spec->linux) & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) != 0)
    return fail(sys_error(errno, "linux.namespaces: unshare cgroup"));
  return {};
}

// create: the container's first process. Ends blocked in the exec helper until `start`.
[[noreturn]] void init_main(const InitArgs& a, UniqueFd fifo) {
  const oci::Spec& s = *a.spec;
  const oci::Process& p = *a.process;
  // getppid() is 0 in a new pid namespace; a parent that died before this point shows
  // up as a failed send on the sync socket instead.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // 1. Settings that need the host's /proc or privileges we will drop.
  if (p.oom_score_adj) INIT_CHECK(a, set_oom_score_adj(*p.oom_score_adj));
  INIT_CHECK(a, set_rlimits(p.rlimits));

  // 2. Root file system, with the hooks that run before pivot_root.
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
  bool in_cgroup = a.cgroup_handoff == nullptr;
  ctx.join_cgroup = [&]() -> Result<void> {
    if (in_cgroup) return {};
    in_cgroup = true;
    return join_cgroup_late(a);
  };
  auto rootfd = prepare_rootfs(ctx, *a.plan);
  trace::mark("init: rootfs prepared");
  if (!rootfd && rootfd.error().sys_errno() == EACCES && ctx.userns)
    rootfd.error().wrap(
        "the user namespace's root cannot reach the rootfs (make its parent "
        "directories searchable by the mapped uid)");
  if (!rootfd) die(a, rootfd.error());
  if (a.hooks_before_pivot) {
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kBeforePivot));
    INIT_CHECK(a, sync::expect(a.sync_fd, sync::Type::kContinue));
  }
  if (!s.hooks.create_container.empty())
    INIT_CHECK(a, run_hooks(s.hooks.create_container, "createContainer",
                            container_state_json(a, "creating", getpid())));
  INIT_CHECK(a, enter_rootfs(ctx, rootfd->get()));
  rootfd->reset();
  if (p.terminal) INIT_CHECK(a, setup_console(a.console_fd, p.console_size));
  INIT_CHECK(a, finish_rootfs(ctx));
  trace::mark("init: rootfs finished");

  // 3. Names.
  if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) != 0)
    die(a, sys_error(errno, "hostname {:?}", s.hostname));
  if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) != 0)
    die(a, sys_error(errno, "domainname {:?}", s.domainname));

  // 4. startContainer hooks run inside the container after `start` and before the user's
  // program: then this process waits for `start` itself instead of the helper.
  if (!s.hooks.start_container.empty()) {
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);  // before Ready, as above
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kReady));
    char b;
    ssize_t n;
    do {
      n = ::read(fifo.get(), &b, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(125);
    fifo.reset();
    auto r = run_hooks(s.hooks.start_container, "startContainer",
                       container_state_json(a, "running", getpid()));
    if (!r) {
      dprintf(2, "berth-runtime: %s\n", r.error().text().c_str());
      _exit(125);
    }
    finish_and_exec(a, p, UniqueFd(), true);
  }
  finish_and_exec(a, p, std::move(fifo));
}

// exec: a new process in a running container (stage 1 joined its namespaces).
[[noreturn]] void exec_main(const InitArgs& a) {
  const oci::Process& p = *a.process;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (p.oom_score_adj) INIT_CHECK(a, set_oom_score_adj(*p.oom_score_adj));
  INIT_CHECK(a, set_rlimits(p.rlimits));
  if (p.terminal) INIT_CHECK(a, setup_console(a.console_fd, p.console_size));
  finish_and_exec(a, p, UniqueFd());
}

// Forks the process that will run the program. CLONE_PARENT: it becomes berth-runtime's child
// (so it can wait for it), not stage 1's. Stage 1 reports its pid (kInitPid) before the child
// may say anything on the sync socket, so the parent always learns the pid first.
[[noreturn]] void fork_child(const InitArgs& a, const std::function<void()>& child_main) {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) die(a, sys_error(errno, "pipe"));
  struct clone_args ca {};
  ca.flags = CLONE_PARENT;
  ca.exit_signal = 0;
  pid_t pid = sys::clone3(&ca);
  if (pid < 0 && errno == ENOSYS)
    pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT, nullptr, nullptr, nullptr, 0));
  if (pid < 0) die(a, sys_error(errno, "fork the container process"));
  if (pid == 0) {
    ::close(gate[1]);
    char b;
    while (::read(gate[0], &b, 1) < 0 && errno == EINTR) {
    }
    ::close(gate[0]);
    child_main();
    _exit(1);
  }
  ::close(gate[0]);
  INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, pid));
  (void)!::write(gate[1], "1", 1);
  _exit(0);
}

// exec: join every namespace the container's init is in, the user namespace first. All
// are opened before the first setns (after joining the mount namespace, /proc is the
// container's).
Result<void> join_container_namespaces(const InitArgs& a) {
  std::vector<std::pair<oci::NsType, UniqueFd>> fds;
  for (const auto& ns : a.spec->linux.namespaces) {
    std::string p = fmt::format("/proc/{}/ns/{}", a.target, oci::ns_proc_name(ns.type));
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error(errno, "open {}", p));
    fds.emplace_back(ns.type, std::move(fd));
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& [type, fd] : fds) {
      if ((pass == 0) != (type == oci::NsType::kUser)) continue;
      if (::setns(fd.get(), oci::ns_clone_flag(type)) != 0)
        return fail(sys_error(errno, "join the container's {} namespace", oci::ns_type_name(type)));
    }
  }
  return {};
}

}  // namespace

std::string container_state_json(const InitArgs& a, std::string_view status, pid_t pid) {
  oci::State st;
  st.id = a.id;
  st.pid = pid;
  st.bundle = a.bundle;
  st.annotations = a.spec->annotations;
  st.rootfs = a.rootfs;
  st.status = status == "running"   ? oci::Status::kRunning
              : status == "created" ? oci::Status::kCreated
                                    : oci::Status::kCreating;
  return st.oci_json(false);
}

// The first steps of the process the parent cloned: die with the parent, wait for its go
// (it has moved us into the cgroup), the initial CPU affinity.
// `joined`: nothing to wait for (the shared-memory path joins its cgroup late).
static void begin_child(const InitArgs& a, bool joined = false) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (!joined) INIT_CHECK(a, sync::expect(a.sync_fd, sync::Type::kGo));
  if (a.process->exec_cpu_affinity)
    INIT_CHECK(a, set_cpu_affinity(a.process->exec_cpu_affinity->initial,
                                   "process.execCPUAffinity.initial"));
}

// create's exec fifo, on which the helper waits for `start`; none when create starts the
// program at once (run).
UniqueFd open_fifo(const InitArgs& a) {
  if (a.fifo_path.empty()) return UniqueFd();
  UniqueFd fifo(::open(a.fifo_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo) die(a, sys_error(errno, "open exec fifo {}", a.fifo_path));
  return fifo;
}

void direct_init_main(const InitArgs& a) {
  trace::mark("init: cloned");
  const oci::Linux& l = a.spec->linux;
  // The parent's thread may now move us (its tid) into the cgroup.
  if (a.cgroup_handoff) CgroupHandoff::publish(a.cgroup_handoff->started, CgroupHandoff::kStarted);
  begin_child(a, a.cgroup_handoff != nullptr);
  trace::mark("init: began");
  INIT_CHECK(a, join_namespaces(l));  // the network, IPC and UTS namespaces given by path
  UniqueFd fifo = open_fifo(a);
  // Once in the cgroup, it becomes the namespace's root (late: join_cgroup_late).
  if (!a.cgroup_handoff && (new_namespace_flags(l) & CLONE_NEWCGROUP) &&
      ::unshare(CLONE_NEWCGROUP) != 0)
    die(a, sys_error(errno, "linux.namespaces: unshare cgroup"));
  INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, 0));
  init_main(a, std::move(fifo));
}

void stage1_main(const InitArgs& a) {
  const oci::Linux& l = a.spec->linux;
  begin_child(a);
  if (a.mode == InitArgs::Mode::kExec) {
    INIT_CHECK(a, join_container_namespaces(a));
    if (needs_fork(l)) fork_child(a, [&] { exec_main(a); });
    INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, getpid()));
    exec_main(a);
  }
  // Opened before any namespace changes: the state dir may not be reachable from a user
  // namespace.
  UniqueFd fifo = open_fifo(a);
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
  if (needs_fork(l)) fork_child(a, [&] { init_main(a, std::move(fifo)); });
  INIT_CHECK(a, sync::send(a.sync_fd, sync::Type::kInitPid, getpid()));
  init_main(a, std::move(fifo));
}

void CgroupHandoff::publish(uint32_t& word, uint32_t value) {
  std::atomic_ref<uint32_t>(word).store(value);
  sys::futex_wake(&word);
}

uint32_t CgroupHandoff::await(uint32_t& word) {
  uint32_t v;
  while ((v = std::atomic_ref<uint32_t>(word).load()) == kPending) sys::futex_wait(&word, kPending);
  return v;
}

}  // namespace berth::runtime
