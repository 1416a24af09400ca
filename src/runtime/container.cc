#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "cgroup/manager.h"
#include "runtime/init.h"
#include "runtime/mount_plan.h"
#include "runtime/namespaces.h"
#include "runtime/proc_info.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}

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

  BERTH_CHECK(store_.create_dir(id));
  std::string dir = store_.dir(id);
  oci::State st;
  st.id = std::string(id);
  st.status = oci::Status::kCreating;
  st.bundle = opts.bundle;
  st.annotations = spec.annotations;
  st.rootfs = rootfs;
  st.created = now_rfc3339();
  st.owner = "root";
  st.systemd_cgroup = opts.systemd_cgroup;

  std::unique_ptr<cgroup::Manager> cg;
  UniqueFd pidfd;
  pid_t stage1 = -1, init = -1;
  Defer undo([&] {
    if (pidfd) sys::pidfd_send_signal(pidfd.get(), SIGKILL);
    if (init > 0) ::kill(init, SIGKILL);
    if (stage1 > 0) {
      ::kill(stage1, SIGKILL);
      ::waitpid(stage1, nullptr, 0);
    }
    if (init > 0 && init != stage1) ::waitpid(init, nullptr, 0);
    if (cg) {
      kill_cgroup(*cg);
      (void)cg->destroy();
    }
    (void)store_.remove(id);
  });

  std::string fifo = path::join(dir, "exec.fifo");
  if (::mkfifo(fifo.c_str(), 0600) != 0) return fail(sys_error(errno, "mkfifo {}", fifo));

  cgroup::Layout layout = BERTH_TRY(cgroup::detect_layout());
  st.cgroup_path =
      BERTH_TRY(cgroup::resolve_path(spec.linux.cgroups_path, id, opts.systemd_cgroup, layout));
  // Saved before anything exists outside the state dir, so `delete --force` can undo a
  // create that was killed half way.
  BERTH_CHECK(store_.save(st));
  cg = BERTH_TRY(cgroup::make_manager(layout, st.cgroup_path));
  BERTH_CHECK(cg->create());
  if (spec.linux.resources) {
    oci::Resources res = *spec.linux.resources;
    res.devices = device_rules(spec);
    BERTH_CHECK(cg->apply(res));
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(sys_error(errno, "socketpair"));
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  InitArgs args;
  args.spec = &spec;
  args.plan = &plan;
  args.cgroups = cg.get();
  args.bundle = opts.bundle;
  args.rootfs = rootfs;
  args.fifo_path = fifo;
  args.console_socket = opts.console_socket;
  args.sync_fd = child_end.get();
  args.preserve_fds = opts.preserve_fds;
  args.no_pivot = opts.no_pivot;
  args.parent = getpid();

  struct clone_args ca {};
  int raw_pidfd = -1;
  ca.flags = CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<uint64_t>(&raw_pidfd);
  ca.exit_signal = SIGCHLD;
  stage1 = sys::clone3(&ca);
  if (stage1 < 0 && errno == ENOSYS) stage1 = ::fork();
  if (stage1 < 0) return fail(sys_error(errno, "fork"));
  if (stage1 == 0) {
    parent_end.reset();
    stage1_main(args);
  }
  UniqueFd stage1_pidfd(raw_pidfd);
  child_end.reset();
  int sfd = parent_end.get();

  BERTH_CHECK_CTX(cg->add(stage1), "join cgroup {}", st.cgroup_path);
  BERTH_CHECK(sync::send(sfd, sync::Type::kGo));
  while (true) {
    auto m = sync::recv(sfd);
    if (!m) {
      if (m.error().kind() == ErrorKind::kNotFound)
        return fail(make_error(ErrorKind::kInternal, "the container init exited during setup"));
      return fail(std::move(m.error()));
    }
    if (m->type == sync::Type::kError) {
      int err = static_cast<int>(m->value);
      return fail(Error(err ? ErrorKind::kSystem : ErrorKind::kInvalidArgument, m->text, err));
    }
    if (m->type == sync::Type::kUsernsReady) {
      BERTH_CHECK(write_id_mappings(static_cast<pid_t>(m->value), spec.linux));
      BERTH_CHECK(sync::send(sfd, sync::Type::kUsernsMapped));
    } else if (m->type == sync::Type::kInitPid) {
      init = static_cast<pid_t>(m->value);
      pidfd.reset(sys::pidfd_open(init));
      if (init != stage1) {
        ::waitpid(stage1, nullptr, 0);
        stage1 = -1;
      }
    } else if (m->type == sync::Type::kBeforePivot) {
      BERTH_CHECK(sync::send(sfd, sync::Type::kContinue));
    } else if (m->type == sync::Type::kReady) {
      break;
    }
  }
  // The socket is close-on-exec: end of file means the helper runs; a message means not.
  auto after = sync::recv(sfd);
  if (after) {
    if (after->type == sync::Type::kError)
      return fail(Error(ErrorKind::kSystem, after->text, static_cast<int>(after->value)));
    return fail(make_error(ErrorKind::kInternal, "sync: unexpected message after ready"));
  }
  if (after.error().kind() != ErrorKind::kNotFound) return fail(std::move(after.error()));

  auto ps = read_proc_stat(init);
  if (!ps) return fail(make_error(ErrorKind::kInternal, "the container init exited during setup"));
  st.pid = init;
  st.pid_start_time = ps->start_time;
  st.status = oci::Status::kCreated;
  BERTH_CHECK(store_.save(st));
  if (!opts.pid_file.empty())
    BERTH_CHECK_CTX(file::write_atomic(opts.pid_file, std::to_string(init), 0644, false),
                    "--pid-file {}", opts.pid_file);
  undo.dismiss();
  if (stage1 > 0 && stage1 != init) ::waitpid(stage1, nullptr, 0);
  return {};
}

Result<void> ContainerHandler::start(std::string_view id) {
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if (status != oci::Status::kCreated)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} cannot start: it is {}, not created", id,
                           oci::status_name(status)));
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
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = compute_status(store_, st);
  if ((status == oci::Status::kRunning || status == oci::Status::kPaused) && !force)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} is {}: stop it first, or delete --force", id,
                           oci::status_name(status)));
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
    // The default parent, /berth, goes when it is empty.
    // Parents berth made go when empty: the default /berth, and on a host without systemd
    // the slices of a systemd-form path (systemd would remove those itself).
    if (st.cgroup_path == fmt::format("/berth/{}", id)) {
      cgroup::remove_if_empty((*cg)->layout(), "/berth");
    } else if (st.systemd_cgroup) {
      for (std::string p = path::dirname(st.cgroup_path);
           p != "/" && p.size() > 6 && p.substr(p.size() - 6) == ".slice"; p = path::dirname(p))
        cgroup::remove_if_empty((*cg)->layout(), p);
    }
  } else if (!cg) {
    log::warn("container {}: cgroup not removed: {}", id, cg.error().text());
  }
  return store_.remove(id);
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
