#include "runtime/container.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/trace.h"
#include "cgroup/manager.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/mount_plan.h"
#include "runtime/namespaces.h"
#include "runtime/proc_info.h"
#include "runtime/seccomp.h"
#include "runtime/spawn.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

// The devices every container may use, appended after config.json's rules as runc does
// (mknod of any node; null, zero, full, random, urandom, tty, ptmx and the pty slaves).
std::vector<oci::DeviceRule> device_rules(const oci::Spec& spec) {
  std::vector<oci::DeviceRule> rules;
  if (spec.linux.resources) rules = spec.linux.resources->devices;
  if (rules.empty()) return rules;
  auto add = [&](char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    rules.push_back(oci::DeviceRule{true, type, major, minor, access});
  };
  add('c', std::nullopt, std::nullopt, "m");
  add('b', std::nullopt, std::nullopt, "m");
  add('c', 1, 3, "rwm");
  add('c', 1, 5, "rwm");
  add('c', 1, 7, "rwm");
  add('c', 1, 8, "rwm");
  add('c', 1, 9, "rwm");
  add('c', 5, 0, "rwm");
  add('c', 5, 1, "rwm");
  add('c', 5, 2, "rwm");
  add('c', 136, std::nullopt, "rwm");
  for (const auto& d : spec.linux.devices)
    if (d.type == 'c' || d.type == 'b') add(d.type, d.major, d.minor, "rwm");
  return rules;
}

Result<std::unique_ptr<cgroup::Manager>> open_cgroup(const oci::State& st) {
  if (st.cgroup_path.empty()) return std::unique_ptr<cgroup::Manager>();
  cgroup::Layout layout = BERTH_TRY(cgroup::detect_layout());
  return cgroup::make_manager(layout, st.cgroup_path);
}

// Waits until pid is gone (it need not be our child), up to timeout_ms.
bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms) {
  int pfd = sys::pidfd_open(pid);
  if (pfd < 0) return !process_alive(pid, start_time);
  UniqueFd fd(pfd);
  if (!process_alive(pid, start_time)) return true;
  pollfd p{fd.get(), POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

// SIGKILLs every process of the cgroup until it is empty (processes may fork meanwhile).
void kill_cgroup(cgroup::Manager& cg) {
  for (int i = 0; i < 100; ++i) {
    auto pids = cg.pids();
    if (!pids || pids->empty()) return;
    for (pid_t p : *pids) ::kill(p, SIGKILL);
    timespec ts{0, 2 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

// The spec's seccomp filter, compiled (or from the cache in the store) into args.
Result<void> prepare_seccomp(const Store& store, const oci::Spec& spec, InitArgs& args,
                             SeccompBpf& keep) {
  if (!spec.linux.seccomp) return {};
  keep = BERTH_TRY(
      compile_seccomp_cached(*spec.linux.seccomp, path::join(store.root(), ".seccomp-cache")));
  args.seccomp_fd = keep.fd.get();
  args.seccomp_flags = keep.flags;
  return {};
}

// Sends the container process state and the notify fd to the seccomp agent at listenerPath
// (config-linux.md "The Container Process State").
Result<void> send_to_seccomp_listener(const oci::Seccomp& sc, const std::string& state_json,
                                      pid_t pid, int fd) {
  if (sc.listener_path.empty())
    return fail(invalid("linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath"));
  UniqueFd sock = BERTH_TRY(connect_unix(sc.listener_path));
  nlohmann::json msg = {{"ociVersion", "1.2.0"},
                        {"fds", {"seccompFd"}},
                        {"pid", pid},
                        {"metadata", sc.listener_metadata},
                        {"state", nlohmann::json::parse(state_json)}};
  return send_fd(sock.get(), fd, msg.dump());
}

// Waits (briefly) until pid runs the user's program: it has left the exec helper and, with
// startContainer hooks, berth-runtime's own image.
void wait_for_user_program(pid_t pid) {
  std::string exe = fmt::format("/proc/{}/exe", pid);
  char self[4096];
  ssize_t sn = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string_view me(self, sn > 0 ? static_cast<size_t>(sn) : 0);
  for (int i = 0; i < 5000; ++i) {
    char buf[4096];
    ssize_t n = ::readlink(exe.c_str(), buf, sizeof buf - 1);
    std::string_view cur(buf, n > 0 ? static_cast<size_t>(n) : 0);
    if (n < 0 || (cur.find("memfd:berth-exec") == std::string_view::npos && cur != me)) return;
    timespec ts{0, 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

oci::Status compute_status(const Store& store, const oci::State& st) {
  if (st.pid <= 0) return st.status == oci::Status::kCreating ? st.status : oci::Status::kStopped;
  if (!process_alive(st.pid, st.pid_start_time)) return oci::Status::kStopped;
  if (file::exists(path::join(store.dir(st.id), "exec.fifo"))) return oci::Status::kCreated;
  if (auto cg = open_cgroup(st); cg && *cg) {
    if (auto f = (*cg)->frozen(); f && *f) return oci::Status::kPaused;
  }
  return oci::Status::kRunning;
}

Result<void> ContainerHandler::create(std::string_view id, const oci::Spec& spec,
                                      const CreateOptions& opts) {
  BERTH_CHECK(validate_id(id));
  if (!spec.process) return fail(invalid("process: missing (nothing to run)"));
  if (!spec.linux.find_namespace(oci::NsType::kMount))
    return fail(invalid("linux.namespaces: a mount namespace is required"));
  std::string rootfs =
      path::is_absolute(spec.root.path) ? spec.root.path : path::join(opts.bundle, spec.root.path);
  struct stat rst {};
  if (::stat(rootfs.c_str(), &rst) != 0 || !S_ISDIR(rst.st_mode))
    return fail(make_error(ErrorKind::kNotFound, "root.path: {} is not a directory", rootfs));
  char real[PATH_MAX];
  if (!::realpath(rootfs.c_str(), real)) return fail(sys_error(errno, "root.path: {}", rootfs));
  rootfs = real;
  std::vector<PlannedMount> plan = BERTH_TRY(plan_mounts(spec));
  trace::mark("rt: planned");
  UniqueFd console;
  if (spec.process->terminal) {
    if (opts.console_fd >= 0) {
      console.reset(::fcntl(opts.console_fd, F_DUPFD_CLOEXEC, 3));
    } else if (!opts.console_socket.empty()) {
      console = BERTH_TRY(connect_unix(opts.console_socket));
    } else {
      return fail(
          invalid("process.terminal is true: pass --console-socket to receive the "
                  "terminal"));
    }
  }

  BERTH_CHECK(store_.create_dir(id));
  std::string dir = store_.dir(id);
  oci::State st;
  st.id = std::string(id);
  st.status = oci::Status::kCreating;
  st.bundle = opts.bundle;
  st.annotations = spec.annotations;
  st.rootfs = rootfs;
  st.created = clock::now_rfc3339_nano();
  st.owner = "root";
  st.systemd_cgroup = opts.systemd_cgroup;

  std::unique_ptr<cgroup::Manager> cg;
  pid_t init = -1;
  Defer undo([&] {
    if (init > 0) {
      ::kill(init, SIGKILL);
      ::waitpid(init, nullptr, 0);
    }
    if (cg) {
      kill_cgroup(*cg);
      (void)cg->destroy();
    }
    (void)store_.remove(id);
  });

  // run (CreateOptions::start) with no hooks that must run between create and start: the
  // exec helper runs the program at once instead of waiting on the exec fifo for `start`,
  // which saves a round trip through the state dir and a wake-up of the helper.
  bool start_now = opts.start && spec.hooks.start_container.empty() && spec.hooks.poststart.empty();
  std::string fifo = start_now ? "" : path::join(dir, "exec.fifo");
  if (!start_now && ::mkfifo(fifo.c_str(), 0600) != 0)
    return fail(sys_error(errno, "mkfifo {}", fifo));
  // The config as it was at create: exec, start's and delete's hooks read it, not the bundle's.
  if (opts.config_json.empty())
    return fail(make_error(ErrorKind::kInternal, "create: the config text is missing"));
  BERTH_CHECK(file::write_atomic(path::join(dir, "config.json"), opts.config_json, 0600, false));
  trace::mark("rt: state dir, config");

  cgroup::Layout layout = BERTH_TRY(cgroup::detect_layout());
  st.cgroup_path =
      BERTH_TRY(cgroup::resolve_path(spec.linux.cgroups_path, id, opts.systemd_cgroup, layout));
  // Saved before anything exists outside the state dir, so `delete --force` can undo a
  // create that was killed half way.
  BERTH_CHECK(store_.save(st));
  cg = BERTH_TRY(cgroup::make_manager(layout, st.cgroup_path));
  trace::mark("rt: layout, state saved");
  InitArgs args;
  args.mode = InitArgs::Mode::kCreate;
  args.spec = &spec;
  args.process = &*spec.process;
  args.plan = &plan;
  args.cgroups = cg.get();
  args.id = std::string(id);
  args.bundle = opts.bundle;
  args.rootfs = rootfs;
  args.fifo_path = fifo;
  args.console_fd = console.get();
  args.preserve_fds = opts.preserve_fds;
  args.no_pivot = opts.no_pivot;
  args.hooks_before_pivot = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
  SeccompBpf bpf;
  BERTH_CHECK(prepare_seccomp(store_, spec, args, bpf));

  trace::mark("rt: seccomp prepared");
  SpawnHooks hooks;
  hooks.make_cgroup = [&]() -> Result<void> {
    BERTH_CHECK(cg->create());
    if (spec.linux.resources) {
      oci::Resources res = *spec.linux.resources;
      res.devices = device_rules(spec);
      BERTH_CHECK(cg->apply(res));
    }
    return {};
  };
  auto runtime_state = [&](pid_t pid) {
    oci::State s2 = st;
    s2.pid = pid;
    return s2.oci_json(false);
  };
  hooks.before_pivot = [&](pid_t pid) -> Result<void> {
    BERTH_CHECK(run_hooks(spec.hooks.prestart, "prestart", runtime_state(pid)));
    return run_hooks(spec.hooks.create_runtime, "createRuntime", runtime_state(pid));
  };
  hooks.seccomp_fd = [&](pid_t pid, int fd) -> Result<void> {
    return send_to_seccomp_listener(*spec.linux.seccomp, runtime_state(pid), pid, fd);
  };
  init = BERTH_TRY(spawn(std::move(args), cg.get(), hooks));
  trace::mark("rt: spawned");

  auto ps = read_proc_stat(init);
  if (!ps) return fail(make_error(ErrorKind::kInternal, "the container init exited during setup"));
  st.pid = init;
  st.pid_start_time = ps->start_time;
  st.status = start_now ? oci::Status::kRunning : oci::Status::kCreated;
  if (start_now) log::debug("container {} started within create (no exec fifo)", id);
  BERTH_CHECK(store_.save(st));
  if (!opts.pid_file.empty())
    BERTH_CHECK_CTX(file::write_atomic(opts.pid_file, std::to_string(init), 0644, false),
                    "--pid-file {}", opts.pid_file);
  trace::mark("rt: state saved");
  undo.dismiss();
  spec_cache_.emplace(std::string(id), spec);
  started_.reset();
  if (start_now) started_ = st;
  return {};
}

std::optional<oci::State> ContainerHandler::started_by_create(std::string_view id) {
  if (started_ && started_->id == id) return started_;
  return std::nullopt;
}

Result<oci::Spec> ContainerHandler::saved_spec(std::string_view id) const {
  if (spec_cache_ && spec_cache_->first == id) return spec_cache_->second;
  std::string text = BERTH_TRY(file::read(path::join(store_.dir(id), "config.json")));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(text));
  spec_cache_.emplace(std::string(id), spec);
  return spec;
}

Result<void> ContainerHandler::start(std::string_view id) {
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (status != oci::Status::kCreated)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} cannot start: it is {}, not created", id,
                           oci::status_name(status)));
  oci::Spec spec = BERTH_TRY(saved_spec(id));
  std::string fifo = path::join(store_.dir(id), "exec.fifo");
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENXIO)
      return fail(make_error(ErrorKind::kFailedPrecondition,
                             "container {:?} cannot start: its init has exited", id));
    return fail(sys_error(errno, "open {}", fifo));
  }
  if (::write(fd.get(), "0", 1) != 1) return fail(sys_error(errno, "write {}", fifo));
  ::unlink(fifo.c_str());
  st.status = oci::Status::kRunning;
  BERTH_CHECK(store_.save(st));
  if (!spec.hooks.poststart.empty()) {
    wait_for_user_program(st.pid);
    if (auto r = run_hooks(spec.hooks.poststart, "poststart", st.oci_json(false)); !r) {
      // runtime.md: a failed poststart hook stops the container and destroys it.
      lock.reset();
      (void)remove(id, true);
      return r;
    }
  }
  return {};
}

Result<oci::State> ContainerHandler::state(std::string_view id) {
  BERTH_CHECK(validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  st.status = compute_status(store_, st);
  return st;
}

Result<void> ContainerHandler::kill(std::string_view id, int signal, bool all) {
  BERTH_CHECK(validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (all) {
    if (status == oci::Status::kCreating)
      return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is {}", id,
                             oci::status_name(status)));
    auto cg = BERTH_TRY(open_cgroup(st));
    if (!cg) return fail(make_error(ErrorKind::kInternal, "container {:?} has no cgroup", id));
    auto pids = BERTH_TRY(cg->pids());
    for (pid_t p : pids) ::kill(p, signal);
    // A frozen process only sees SIGKILL after a thaw.
    if (status == oci::Status::kPaused && signal == SIGKILL) (void)cg->set_frozen(false);
    return {};
  }
  if (status != oci::Status::kCreated && status != oci::Status::kRunning &&
      status != oci::Status::kPaused)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} is {}: there is no process to signal", id,
                           oci::status_name(status)));
  UniqueFd pfd(sys::pidfd_open(st.pid));
  if (!pfd || !process_alive(st.pid, st.pid_start_time))
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is stopped", id));
  if (sys::pidfd_send_signal(pfd.get(), signal) != 0)
    return fail(sys_error(errno, "signal {} to container {:?}", signal, id));
  return {};
}

Result<void> ContainerHandler::remove(std::string_view id, bool force) {
  BERTH_CHECK(validate_id(id));
  auto locked = store_.lock(id);
  // As runc: --force on a container that is already gone is not an error (shims clean up
  // twice).
  if (!locked && force && locked.error().kind() == ErrorKind::kNotFound) return {};
  UniqueFd lock = BERTH_TRY(std::move(locked));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if ((status == oci::Status::kRunning || status == oci::Status::kPaused) && !force)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} is {}: stop it first, or delete --force", id,
                           oci::status_name(status)));
  auto spec = saved_spec(id);
  auto cg = open_cgroup(st);
  if (status != oci::Status::kStopped && status != oci::Status::kCreating) {
    if (UniqueFd pfd(sys::pidfd_open(st.pid)); pfd && process_alive(st.pid, st.pid_start_time))
      sys::pidfd_send_signal(pfd.get(), SIGKILL);
    if (status == oci::Status::kPaused && cg && *cg) (void)(*cg)->set_frozen(false);
    if (!wait_gone(st.pid, st.pid_start_time, 10000))
      return fail(make_error(ErrorKind::kInternal, "container {:?}: init did not exit", id));
  }
  if (cg && *cg) {
    kill_cgroup(**cg);
    BERTH_CHECK_CTX((*cg)->destroy(), "delete container {:?}", id);
    // The default parent, /berth, stays (as Docker's /docker does): made again for every
    // container it cost a mkdir in each of the 11 hierarchies of a v1 host, and a new v1
    // cpuset parent is slow to make (~1.7 ms) and must be filled before it takes tasks. On a
    // host without systemd, the slices of a systemd-form path go when empty (systemd would
    // remove those itself).
    if (st.systemd_cgroup) {
      for (std::string p = path::dirname(st.cgroup_path);
           p != "/" && p.size() > 6 && p.substr(p.size() - 6) == ".slice"; p = path::dirname(p))
        cgroup::remove_if_empty((*cg)->layout(), p);
    }
  } else if (!cg) {
    log::warn("container {}: cgroup not removed: {}", id, cg.error().text());
  }
  BERTH_CHECK(store_.remove(id));
  // poststop hooks: after the container is gone; a failure is only a warning.
  if (spec && !spec->hooks.poststop.empty()) {
    st.status = oci::Status::kStopped;
    if (auto r = run_hooks(spec->hooks.poststop, "poststop", st.oci_json(false)); !r)
      log::warn("{}", r.error().text());
  }
  return {};
}

Result<int> ContainerHandler::wait(std::string_view id) {
  oci::State st = BERTH_TRY(store_.load(id));
  int status = 0;
  while (::waitpid(st.pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(sys_error(errno, "wait for container {:?}", id));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace berth::runtime

namespace berth::runtime {

Result<int> ContainerHandler::exec(std::string_view id, const ExecOptions& opts) {
  BERTH_CHECK(validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (status != oci::Status::kRunning && status != oci::Status::kCreated)
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is {}: cannot exec", id,
                           oci::status_name(status)));
  BERTH_CHECK(oci::validate_process(opts.process));
  oci::Spec spec = BERTH_TRY(saved_spec(id));
  UniqueFd console;
  if (opts.process.terminal) {
    if (opts.console_fd >= 0) {
      console.reset(::fcntl(opts.console_fd, F_DUPFD_CLOEXEC, 3));
    } else if (!opts.console_socket.empty()) {
      console = BERTH_TRY(connect_unix(opts.console_socket));
    } else {
      return fail(invalid("--tty: pass --console-socket to receive the terminal"));
    }
  }
  auto cg = BERTH_TRY(open_cgroup(st));
  InitArgs args;
  args.mode = InitArgs::Mode::kExec;
  args.spec = &spec;
  args.process = &opts.process;
  args.cgroups = cg.get();
  args.id = std::string(id);
  args.bundle = st.bundle;
  args.rootfs = st.rootfs;
  args.target = st.pid;
  args.console_fd = console.get();
  args.preserve_fds = opts.preserve_fds;
  SeccompBpf bpf;
  BERTH_CHECK(prepare_seccomp(store_, spec, args, bpf));
  SpawnHooks hooks;
  hooks.seccomp_fd = [&](pid_t pid, int fd) -> Result<void> {
    return send_to_seccomp_listener(*spec.linux.seccomp, st.oci_json(false), pid, fd);
  };
  pid_t pid = BERTH_TRY(spawn(std::move(args), cg.get(), hooks));
  if (!opts.pid_file.empty())
    BERTH_CHECK_CTX(file::write_atomic(opts.pid_file, std::to_string(pid), 0644, false),
                    "--pid-file {}", opts.pid_file);
  if (opts.detach) return pid;
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return fail(sys_error(errno, "wait for the exec'd process"));
  }
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  return 128 + WTERMSIG(wstatus);
}

Result<void> ContainerHandler::pause(std::string_view id) {
  BERTH_CHECK(validate_id(id));
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (status != oci::Status::kRunning && status != oci::Status::kCreated)
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is {}: cannot pause", id,
                           oci::status_name(status)));
  auto cg = BERTH_TRY(open_cgroup(st));
  return cg->set_frozen(true);
}

Result<void> ContainerHandler::resume(std::string_view id) {
  BERTH_CHECK(validate_id(id));
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (status != oci::Status::kPaused)
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is {}, not paused", id,
                           oci::status_name(status)));
  auto cg = BERTH_TRY(open_cgroup(st));
  return cg->set_frozen(false);
}

Result<void> ContainerHandler::update(std::string_view id, const oci::Resources& r) {
  BERTH_CHECK(validate_id(id));
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  if (compute_status(store_, st) == oci::Status::kStopped)
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is stopped", id));
  auto cg = BERTH_TRY(open_cgroup(st));
  oci::Resources res = r;
  if (!res.devices.empty()) {
    oci::Spec spec = BERTH_TRY(saved_spec(id));
    spec.linux.resources = res;
    res.devices = device_rules(spec);
  }
  return cg->apply(res);
}

Result<std::vector<pid_t>> ContainerHandler::pids(std::string_view id) {
  BERTH_CHECK(validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  auto cg = BERTH_TRY(open_cgroup(st));
  return cg->pids();
}

}  // namespace berth::runtime
