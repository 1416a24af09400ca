#include "vm/vm_handler.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "runtime/proc_info.h"
#include "sys/syscalls.h"
#include "vm/control.h"
#include "vm/host_probe.h"
#include "vm/initramfs.h"
#include "vm/kernel.h"
#include "vm/kernel_cmdline.h"
#include "vm/monitor.h"
#include "vm/root_initrd.h"
#include "vm/rootfs_image.h"
#include "vm/spawn.h"

namespace berth::vm {

bool wants_vm(const oci::Spec& spec) {
  auto it = spec.annotations.find(kIsolationAnnotation);
  return it != spec.annotations.end() && it->second == "vm";
}

std::unique_ptr<runtime::Handler> handler_for(const runtime::Store& store, std::string_view id) {
  if (auto st = store.load(id); st && is_vm_state(*st)) return std::make_unique<VmHandler>(store);
  return std::make_unique<runtime::ContainerHandler>(store);
}

std::unique_ptr<runtime::Handler> handler_for_spec(const runtime::Store& store,
                                                   const oci::Spec& spec) {
  if (wants_vm(spec)) return std::make_unique<VmHandler>(store);
  return std::make_unique<runtime::ContainerHandler>(store);
}

namespace {

// The host TSC frequency, measured once per boot and kept in the cache dir.
uint64_t cached_tsc_khz(const std::string& cache_dir) {
  auto boot = file::read("/proc/sys/kernel/random/boot_id");
  std::string name = path::join(
      cache_dir, "tsc-khz-" + (boot ? std::string(trim(*boot)) : std::string("unknown")));
  if (auto t = file::read(name))
    if (auto v = parse_uint(trim(*t)); v && *v > 0) return *v;
  uint64_t khz = host_tsc_khz();
  if (khz > 0 && file::mkdir_all(cache_dir, 0700)) {
    // Values of earlier boots are stale.
    if (DIR* d = ::opendir(cache_dir.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).starts_with("tsc-khz-")) ::unlinkat(dirfd(d), e->d_name, 0);
      ::closedir(d);
    }
    (void)file::write_atomic(name, std::to_string(khz), 0600, false);
  }
  return khz;
}

// "10.0.0.2/24" -> address, prefix.
Result<std::pair<std::string, uint32_t>> parse_cidr(const std::string& cidr) {
  auto slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  uint32_t prefix = 24;
  if (slash != std::string::npos) {
    auto p = parse_uint(cidr.substr(slash + 1));
    if (!p || *p > 32) return fail(invalid("VM address {:?}: bad prefix", cidr));
    prefix = static_cast<uint32_t>(*p);
  }
  unsigned a, b, c, d;
  char extra;
  if (sscanf(addr.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4 || a > 255 || b > 255 ||
      c > 255 || d > 255)
    return fail(invalid("VM address {:?}: not an IPv4 address", cidr));
  return std::pair<std::string, uint32_t>(addr, prefix);
}

// Everything a VM needs, worked out before anything is made.
struct Prepared {
  VmOptions opts;
  Kernel kernel;
  std::string rootfs;
  GuestPlan guest;
  MonitorConfig mon;
  std::vector<std::string> modules;
  std::string root_initrd;  // the initramfs carrying the root (root_initrd.h), or empty
};

// A small root goes in the initramfs (root_initrd.h) unless the annotations ask for the
// image; the path of that initramfs, or "" for the ext4 image.
Result<std::string> plan_root_initrd(const VmOptions& o, const Kernel& k, const std::string& rootfs,
                                     const std::vector<std::string>& modules) {
  if (o.rootfs_mode == "image") return std::string();
  std::string key = o.rootfs_key;
  if (key.empty()) {
    TreeStats t = BERTH_TRY(scan_tree(rootfs));
    if (o.rootfs_mode == "auto" &&
        (t.bytes > kInitrdRootMaxBytes || t.entries > kInitrdRootMaxEntries))
      return std::string();
    key = t.key;
  }
  std::string cache = path::join(o.vm_dir, "cache");
  std::string base = BERTH_TRY(ensure_initramfs(k, cache, modules));
  auto r = ensure_root_initrd(rootfs, base, cache, key);
  if (r || o.rootfs_mode == "initramfs" || r.error().kind() != ErrorKind::kUnavailable) return r;
  log::debug("vm: {}; using an ext4 image", r.error().text());
  return std::string();
}

Result<Prepared> prepare(std::string_view id, const oci::Spec& spec,
                         const runtime::CreateOptions& co, const VmOptions& defaults) {
  Prepared p;
  p.opts = BERTH_TRY(apply_annotations(defaults, spec.annotations));
  if (p.opts.vm_dir.empty()) p.opts.vm_dir = default_vm_dir();
  if (co.preserve_fds > 0)
    return fail(invalid("--preserve-fds: file descriptors cannot be passed into a VM"));
  p.mon.qemu.qemu = BERTH_TRY(find_qemu());
  p.kernel = p.opts.kernel_dir.empty() ? BERTH_TRY(find_kernel(p.opts.vm_dir))
                                       : BERTH_TRY(load_kernel(p.opts.kernel_dir));
  std::string rootfs =
      path::is_absolute(spec.root.path) ? spec.root.path : path::join(co.bundle, spec.root.path);
  char real[PATH_MAX];
  struct stat st {};
  if (!::realpath(rootfs.c_str(), real) || ::stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(make_error(ErrorKind::kNotFound, "root.path: {} is not a directory", rootfs));
  p.rootfs = real;

  p.guest = BERTH_TRY(plan_guest(spec, co.bundle, classify_host_path));
  BERTH_CHECK(load_copied_files(p.guest));
  for (const auto& w : p.guest.warnings) log::warn("{}", w);
  if (!p.guest.shares.empty()) p.mon.virtiofsd = BERTH_TRY(find_virtiofsd());

  std::vector<std::string> wanted = {"virtio_mmio", "virtio_console"};
  if (!p.guest.shares.empty()) wanted.push_back("virtiofs");
  if (!p.opts.net.empty()) {
    wanted.push_back("virtio_net");
    QemuNet net;
    net.kind = p.opts.net == "tap" ? QemuNet::Kind::kTap : QemuNet::Kind::kUser;
    net.tap = p.opts.tap;
    net.mac = p.opts.mac.empty() ? mac_for(id) : p.opts.mac;
    p.mon.qemu.net = net;
    proto::GuestNet& g = p.guest.config.net;
    g.mac = net.mac;
    std::string cidr = p.opts.address, gw = p.opts.gateway;
    if (net.kind == QemuNet::Kind::kUser && cidr.empty()) {
      cidr = "10.0.2.15/24";  // QEMU's user-mode network
      if (gw.empty()) gw = "10.0.2.2";
    }
    if (!cidr.empty()) {
      auto [addr, prefix] = BERTH_TRY(parse_cidr(cidr));
      g.address = addr;
      g.prefix = prefix;
      g.gateway = gw;
    }
  }
  auto deps = parse_modules_dep(p.kernel.modules_dep);
  p.modules = BERTH_TRY(resolve_modules(deps, wanted));
  // The root in the initramfs needs no block device; else the ext4 image on virtio-blk.
  p.root_initrd = BERTH_TRY(plan_root_initrd(p.opts, p.kernel, p.rootfs, p.modules));
  p.guest.config.root_in_initramfs = !p.root_initrd.empty();
  if (p.root_initrd.empty()) {
    wanted.insert(wanted.end(), {"virtio_blk", "ext4"});
    p.modules = BERTH_TRY(resolve_modules(deps, wanted));
  }

  VmSize size = vm_size(spec, p.opts, host_cpus());
  QemuPlan& q = p.mon.qemu;
  q.name = fmt::format("berth-{}", id);
  q.kvm = p.opts.kvm.value_or(kvm_usable());
  q.memory_mib = size.memory_mib;
  q.cpus = size.cpus;
  q.kernel = p.kernel.vmlinux;
  CmdlineOptions cl;
  cl.tsc_khz = cached_tsc_khz(path::join(p.opts.vm_dir, "cache"));
  cl.modules = p.modules;
  cl.verbose = p.opts.verbose_console;
  q.cmdline = kernel_cmdline(cl);
  p.mon.id = std::string(id);
  // A VM has a hostname of its own: the container's id unless the spec names one.
  if (p.guest.config.hostname.empty()) p.guest.config.hostname = std::string(id.substr(0, 63));
  p.mon.shares = p.guest.shares;
  p.mon.guest = p.guest.config;
  if (const char* t = getenv("BERTH_VM_BOOT_TIMEOUT"); t && parse_uint(t))
    p.mon.boot_timeout_ms = static_cast<int>(*parse_uint(t) * 1000);
  return p;
}

// Opens the host side of the terminal: the master goes to the console socket, the slave
// stays with the monitor.
Result<UniqueFd> open_terminal(const oci::Process& proc, const runtime::CreateOptions& co) {
  UniqueFd sock;
  if (co.console_fd >= 0) {
    sock.reset(::fcntl(co.console_fd, F_DUPFD_CLOEXEC, 3));
  } else if (!co.console_socket.empty()) {
    sock = BERTH_TRY(control::connect(co.console_socket));
  } else {
    return fail(
        invalid("process.terminal is true: pass --console-socket to receive the "
                "terminal"));
  }
  int master = -1, slave = -1;
  winsize ws{};
  if (proc.console_size) {
    ws.ws_row = static_cast<unsigned short>(proc.console_size->height);
    ws.ws_col = static_cast<unsigned short>(proc.console_size->width);
  }
  if (::openpty(&master, &slave, nullptr, nullptr, proc.console_size ? &ws : nullptr) != 0)
    return fail(sys_error(errno, "openpty"));
  UniqueFd m(master), s(slave);
  ::fcntl(s.get(), F_SETFD, FD_CLOEXEC);
  BERTH_CHECK(control::send_fd(sock.get(), m.get()));
  return s;
}

// Forks the monitor with only stdio and its own fds; returns its pid.
Result<pid_t> fork_monitor(MonitorConfig cfg, int report, int tty, int netns) {
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork the VM monitor"));
  if (pid > 0) return pid;
  // The monitor keeps stdio (the container's) and these three, as 3, 4 and 5.
  int keep[3] = {report, tty, netns};
  for (int& fd : keep)
    if (fd >= 0) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 64);
  for (int i = 0; i < 3; ++i)
    if (keep[i] >= 0) ::dup3(keep[i], 3 + i, O_CLOEXEC);
  for (int i = 0; i < 3; ++i)
    if (keep[i] < 0) ::close(3 + i);
  sys::close_range(6, ~0u, 0);
  cfg.report_fd = report >= 0 ? 3 : -1;
  cfg.tty_fd = tty >= 0 ? 4 : -1;
  cfg.netns_fd = netns >= 0 ? 5 : -1;
  run_monitor(std::move(cfg));
}

std::string state_file(const runtime::Store& s, std::string_view id, std::string_view name) {
  return path::join(s.dir(id), name);
}

// Kills the helper processes the monitor recorded (a monitor killed by SIGKILL leaves QEMU
// to PR_SET_PDEATHSIG; this is the belt to those braces).
void kill_recorded(const runtime::Store& s, std::string_view id) {
  auto text = file::read(state_file(s, id, kPidsFile));
  if (!text) return;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(line, ' ');
    if (f.size() != 2) continue;
    auto pid = parse_uint(f[0]);
    auto start = parse_uint(f[1]);
    if (!pid || !start) continue;
    if (runtime::process_alive(static_cast<pid_t>(*pid), *start))
      ::kill(static_cast<pid_t>(*pid), SIGKILL);
  }
}

// Waits until pid is gone (reaping it if it is our child), up to timeout_ms.
bool wait_gone(pid_t pid, uint64_t start_time, int timeout_ms) {
  UniqueFd fd(sys::pidfd_open(pid));
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    ::waitpid(pid, nullptr, WNOHANG);
    if (!runtime::process_alive(pid, start_time)) return true;
    if (fd) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        ::waitpid(pid, nullptr, WNOHANG);
        return true;
      }
    } else {
      timespec ts{0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  return !runtime::process_alive(pid, start_time);
}

// The parent pid of pid (field 4 of /proc/PID/stat), -1 if unknown.
pid_t parent_of(pid_t pid) {
  auto text = file::read(fmt::format("/proc/{}/stat", pid));
  if (!text) return -1;
  auto close = text->rfind(')');  // the command name may hold spaces and parens
  if (close == std::string::npos) return -1;
  auto f = split(std::string_view(*text).substr(close + 2), ' ');
  if (f.size() < 2) return -1;
  auto v = parse_int(f[1]);
  return v ? static_cast<pid_t>(*v) : -1;
}

}  // namespace

oci::Status vm_status(const oci::State& st) {
  if (st.pid <= 0) return st.status == oci::Status::kCreating ? st.status : oci::Status::kStopped;
  if (!runtime::process_alive(st.pid, st.pid_start_time)) return oci::Status::kStopped;
  // The monitor runs: the recorded status holds (only start, pause and resume change it).
  return st.status == oci::Status::kStopped ? oci::Status::kRunning : st.status;
}

Result<void> VmHandler::create(std::string_view id, const oci::Spec& spec,
                               const runtime::CreateOptions& opts) {
  BERTH_CHECK(runtime::validate_id(id));
  if (!spec.process) return fail(invalid("process: missing (nothing to run)"));
  Prepared p = BERTH_TRY(prepare(id, spec, opts, defaults_));
  log::debug("vm {}: planned ({} MiB, {} CPU, {})", id, p.mon.qemu.memory_mib, p.mon.qemu.cpus,
             p.mon.qemu.kvm ? "kvm" : "tcg");

  UniqueFd tty;
  if (spec.process->terminal) tty = BERTH_TRY(open_terminal(*spec.process, opts));
  UniqueFd netns;
  if (const auto* ns = spec.linux.find_namespace(oci::NsType::kNetwork); ns && !ns->path.empty()) {
    netns.reset(::open(ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) return fail(sys_error(errno, "open network namespace {}", ns->path));
  }

  BERTH_CHECK(store_.create_dir(id));
  oci::State st;
  st.id = std::string(id);
  st.status = oci::Status::kCreating;
  st.bundle = opts.bundle;
  st.annotations = spec.annotations;
  st.rootfs = p.rootfs;
  st.created = clock::now_rfc3339_nano();
  st.owner = "root";
  st.handler = "vm";
  st.extra["kernel"] = p.kernel.version;
  st.extra["accel"] = p.mon.qemu.kvm ? "kvm" : "tcg";
  st.extra["memory_mib"] = std::to_string(p.mon.qemu.memory_mib);
  st.extra["cpus"] = std::to_string(p.mon.qemu.cpus);
  pid_t monitor = -1;
  Defer undo([&] {
    if (monitor > 0) {
      ::kill(monitor, SIGKILL);
      ::waitpid(monitor, nullptr, 0);
    }
    kill_recorded(store_, id);
    (void)store_.remove(id);
  });
  BERTH_CHECK(store_.save(st));

  std::string cache = path::join(p.opts.vm_dir, "cache");
  if (p.root_initrd.empty()) {
    p.mon.qemu.rootfs = BERTH_TRY(ensure_rootfs_image(p.rootfs, cache, p.opts.rootfs_key));
    p.mon.qemu.initrd = BERTH_TRY(ensure_initramfs(p.kernel, cache, p.modules));
  } else {
    p.mon.qemu.initrd = p.root_initrd;
  }
  log::debug("vm {}: rootfs image {}, initramfs {}", id, p.mon.qemu.rootfs, p.mon.qemu.initrd);
  p.mon.state_dir = store_.dir(id);
  if (p.mon.qemu.rootfs.empty())
    st.extra["root"] = "initramfs";
  else
    st.extra["rootfs_image"] = p.mon.qemu.rootfs;

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(sys_error(errno, "socketpair"));
  UniqueFd report(sv[0]), report_child(sv[1]);
  p.mon.start_at_once = opts.start;
  monitor = BERTH_TRY(fork_monitor(std::move(p.mon), report_child.get(), tty.get(), netns.get()));
  report_child.reset();
  tty.reset();
  st.pid = monitor;
  st.pid_start_time = start_time_of(monitor);
  BERTH_CHECK(store_.save(st));

  // The monitor answers once the guest process is set up (or the boot failed).
  auto line = control::read_line(report.get(), -1);
  if (!line) return fail(make_error(ErrorKind::kInternal, "the VM monitor exited during the boot"));
  if (line->starts_with("error "))
    return fail(make_error(ErrorKind::kInternal, "VM {}: {}", id, line->substr(6)));
  bool running = opts.start && *line == "running";
  if (*line != "ready" && !running)
    return fail(make_error(ErrorKind::kInternal, "VM monitor: {:?}", *line));

  log::debug("vm {}: guest {}", id, *line);
  st.status = running ? oci::Status::kRunning : oci::Status::kCreated;
  BERTH_CHECK(store_.save(st));
  if (!opts.pid_file.empty())
    BERTH_CHECK_CTX(file::write_atomic(opts.pid_file, std::to_string(monitor), 0644, false),
                    "--pid-file {}", opts.pid_file);
  // A running process may have finished already, and its monitor with it: no one to tell.
  if (auto r = control::send_line(report.get(), "done"); !r && !running) return fail(r.error());
  undo.dismiss();
  return {};
}

Result<void> VmHandler::start(std::string_view id) {
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = vm_status(st);
  if (status != oci::Status::kCreated)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} cannot start: it is {}, not created", id,
                           oci::status_name(status)));
  // Recorded first: the process may run (and print) before the monitor's answer arrives.
  st.status = oci::Status::kRunning;
  BERTH_CHECK(store_.save(st));
  auto reply = control::request(state_file(store_, id, control::kSocketName), "start", 120000);
  if (reply && *reply == "ok") return {};
  if (!reply) return fail(std::move(reply.error()).wrap(fmt::format("start VM {}", id)));
  return fail(make_error(ErrorKind::kInternal, "start VM {}: {}", id,
                         reply->starts_with("error ") ? reply->substr(6) : *reply));
}

Result<oci::State> VmHandler::state(std::string_view id) {
  BERTH_CHECK(runtime::validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  st.status = vm_status(st);
  return st;
}

Result<void> VmHandler::kill(std::string_view id, int signal, bool all) {
  BERTH_CHECK(runtime::validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = vm_status(st);
  if (status != oci::Status::kCreated && status != oci::Status::kRunning)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} is {}: there is no process to signal", id,
                           oci::status_name(status)));
  auto reply = control::request(state_file(store_, id, control::kSocketName),
                                fmt::format("kill {} {}", signal, all ? 1 : 0), 10000);
  if (reply && *reply == "ok") return {};
  if (signal == SIGKILL) {
    // The monitor does not answer: SIGKILL it; QEMU dies with it.
    if (UniqueFd pfd(sys::pidfd_open(st.pid));
        pfd && runtime::process_alive(st.pid, st.pid_start_time))
      sys::pidfd_send_signal(pfd.get(), SIGKILL);
    return {};
  }
  if (!reply) return fail(std::move(reply.error()).wrap(fmt::format("signal VM {}", id)));
  return fail(make_error(ErrorKind::kInternal, "signal VM {}: {}", id, *reply));
}

Result<void> VmHandler::remove(std::string_view id, bool force) {
  BERTH_CHECK(runtime::validate_id(id));
  UniqueFd lock = BERTH_TRY(store_.lock(id));
  oci::State st = BERTH_TRY(store_.load(id));
  oci::Status status = vm_status(st);
  if (status == oci::Status::kRunning && !force)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "container {:?} is running: stop it first, or delete --force", id));
  if (st.pid > 0 && runtime::process_alive(st.pid, st.pid_start_time)) {
    // The monitor stops QEMU and virtiofsd and removes its sockets, then exits.
    if (auto c = control::connect(state_file(store_, id, control::kSocketName)); c) {
      if (control::send_line(c->get(), "shutdown")) (void)control::read_line(c->get(), 15000);
    }
    if (!wait_gone(st.pid, st.pid_start_time, 5000)) {
      if (UniqueFd pfd(sys::pidfd_open(st.pid)); pfd) sys::pidfd_send_signal(pfd.get(), SIGKILL);
      if (!wait_gone(st.pid, st.pid_start_time, 10000))
        return fail(make_error(ErrorKind::kInternal, "VM {}: the monitor did not exit", id));
    }
  } else if (st.pid > 0) {
    ::waitpid(st.pid, nullptr, WNOHANG);  // our child (run): reap it
  }
  kill_recorded(store_, id);
  return store_.remove(id);
}

Result<int> VmHandler::wait(std::string_view id) {
  oci::State st = BERTH_TRY(store_.load(id));
  std::optional<int> code;
  // The process that made the VM (berth-runtime run, the monitor's parent) attaches: if it
  // dies, the VM stops with it. Any other waiter only waits.
  bool attach = parent_of(st.pid) == ::getpid();
  if (auto c = control::connect(state_file(store_, id, control::kSocketName)); c) {
    if (control::send_line(c->get(), attach ? "wait attach" : "wait")) {
      if (auto line = control::read_line(c->get(), -1); line && line->starts_with("exit "))
        if (auto v = parse_int(line->substr(5))) code = static_cast<int>(*v);
    }
  }
  // Reap the monitor if it is our child (berth-runtime run); its exit status is the code.
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(st.pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && !code) {
    // Not our child and no answer on the socket: wait for the monitor to be gone.
    while (!wait_gone(st.pid, st.pid_start_time, 1000)) {
    }
  }
  if (!code) {
    if (auto t = file::read(state_file(store_, id, kExitCodeFile)))
      if (auto v = parse_int(trim(*t))) code = static_cast<int>(*v);
  }
  if (!code && r == st.pid) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!code) return fail(make_error(ErrorKind::kInternal, "VM {}: no exit status", id));
  return *code;
}

namespace {

// Asks the monitor of a VM in state `from` for `verb`, then records `to`.
Result<void> change_state(const runtime::Store& store, std::string_view id, const char* verb,
                          oci::Status from, oci::Status to) {
  UniqueFd lock = BERTH_TRY(store.lock(id));
  oci::State st = BERTH_TRY(store.load(id));
  oci::Status status = vm_status(st);
  if (status != from)
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {:?} is {}, not {}", id,
                           oci::status_name(status), oci::status_name(from)));
  std::string reply =
      BERTH_TRY(control::request(state_file(store, id, control::kSocketName), verb, 10000));
  if (reply != "ok")
    return fail(make_error(ErrorKind::kInternal, "{} VM {}: {}", verb, id,
                           reply.starts_with("error ") ? reply.substr(6) : reply));
  st.status = to;
  return store.save(st);
}

}  // namespace

Result<void> VmHandler::pause(std::string_view id) {
  BERTH_CHECK(runtime::validate_id(id));
  return change_state(store_, id, "pause", oci::Status::kRunning, oci::Status::kPaused);
}

Result<void> VmHandler::resume(std::string_view id) {
  BERTH_CHECK(runtime::validate_id(id));
  return change_state(store_, id, "resume", oci::Status::kPaused, oci::Status::kRunning);
}

Result<std::vector<pid_t>> VmHandler::pids(std::string_view id) {
  BERTH_CHECK(runtime::validate_id(id));
  oci::State st = BERTH_TRY(store_.load(id));
  std::vector<pid_t> out;
  if (vm_status(st) == oci::Status::kStopped) return out;
  out.push_back(st.pid);
  if (auto text = file::read(state_file(store_, id, kPidsFile))) {
    for (const auto& line : split(*text, '\n')) {
      auto f = split(line, ' ');
      if (f.size() != 2) continue;
      auto pid = parse_uint(f[0]);
      auto start = parse_uint(f[1]);
      if (pid && start && runtime::process_alive(static_cast<pid_t>(*pid), *start))
        out.push_back(static_cast<pid_t>(*pid));
    }
  }
  return out;
}

}  // namespace berth::vm
