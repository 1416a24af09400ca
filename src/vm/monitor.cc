#include "vm/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <list>

#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "sys/syscalls.h"
#include "vm/control.h"
#include "vm/qmp.h"
#include "vm/spawn.h"

namespace berth::vm {
namespace {

constexpr size_t kHighWater = 1 << 20;  // buffered output above which the agent is not read
constexpr int kFlushTimeoutMs = 10000;
// The serial console is for diagnostics; a guest that floods it must not fill the host.
constexpr size_t kMaxConsoleLog = 1 << 20;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Output towards one of the container's fds (stdout, stderr or the terminal).
struct Sink {
  int fd = -1;
  std::string buf;
  bool broken = false;
  // Writes what fits now (pipes take PIPE_BUF after POLLOUT without blocking).
  void write_some() {
    while (!buf.empty() && !broken) {
      size_t n = std::min<size_t>(buf.size(), PIPE_BUF);
      ssize_t k = ::write(fd, buf.data(), n);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && errno == EAGAIN) return;
      if (k <= 0) {
        broken = true;  // nobody reads: drop what comes
        buf.clear();
        return;
      }
      buf.erase(0, static_cast<size_t>(k));
      if (static_cast<size_t>(k) < n) return;
    }
  }
};

struct Client {
  UniqueFd fd;
  std::string in;
  bool waiter = false;    // sent "wait": gets the exit code
  bool attached = false;  // sent "wait attach": the VM stops if this client goes first
  bool starter = false;   // sent "start": answered on kStarted / kError
  bool shutdown = false;
  bool gone = false;
};

class Monitor {
 public:
  explicit Monitor(MonitorConfig c) : cfg_(std::move(c)) {}
  [[noreturn]] void run();

 private:
  enum class Phase { kBooting, kConfiguring, kCreated, kStarting, kRunning };

  std::string file(std::string_view name) const { return path::join(cfg_.state_dir, name); }
  Result<void> launch();
  Result<UniqueFd> listen_unix(const std::string& p, bool nonblock);
  void record_pids();
  void send(proto::Type t, std::string_view payload = {}) {
    agent_out_ += proto::encode_frame(t, payload);
  }
  void report(const std::string& line);
  void on_agent();
  void on_frame(const proto::Frame& f);
  void on_client(Client& c);
  void on_signals();
  void on_stdin();
  void on_console();
  void accept_clients();
  void resize_from_tty();
  void on_qemu_gone();
  [[noreturn]] void finish(int code, const std::string& why);
  void flush_agent();
  void stop_helpers();
  std::string failure_detail();

  MonitorConfig cfg_;
  Phase phase_ = Phase::kBooting;
  pid_t qemu_ = -1;
  UniqueFd qemu_pidfd_;
  std::vector<pid_t> fsd_;
  QmpClient qmp_;
  UniqueFd agent_;
  proto::Decoder agent_in_;
  std::string agent_out_;
  UniqueFd listen_;
  std::list<Client> clients_;
  UniqueFd sigfd_;
  UniqueFd report_;
  bool create_done_ = false;
  bool create_answered_ = false;  // create heard "ready" or "running"
  Sink out_, err_;
  int in_fd_ = -1;
  bool stdin_open_ = false;
  bool exited_ = false;
  bool hard_stop_ = false;  // SIGKILL QEMU rather than ask it to quit
  bool paused_ = false;
  UniqueFd console_;      // the guest's serial console
  UniqueFd console_log_;  // where its first kMaxConsoleLog bytes go
  size_t console_bytes_ = 0;
  int64_t boot_deadline_ = 0;
};

Result<UniqueFd> Monitor::listen_unix(const std::string& p, bool nonblock) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (p.size() >= sizeof sa.sun_path) return fail(invalid("socket path {} is too long", p));
  memcpy(sa.sun_path, p.c_str(), p.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0));
  if (!fd) return fail(sys_error(errno, "socket"));
  ::unlink(p.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return fail(sys_error(errno, "bind {}", p));
  if (::listen(fd.get(), 16) != 0) return fail(sys_error(errno, "listen {}", p));
  return fd;
}

Result<void> Monitor::launch() {
  UniqueFd log(::open(file(kQemuLog).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return fail(sys_error(errno, "open {}", file(kQemuLog)));

  // virtiofsd first: QEMU connects to each share's socket at start.
  for (const auto& s : cfg_.shares) {
    // Relative to the state dir (our cwd, and QEMU's): an absolute path under a long --root
    // could pass the 107 bytes a unix socket address holds.
    std::string sock = "fs-" + s.tag + ".sock";
    // virtiofsd accepts on it in blocking mode.
    UniqueFd l = BERTH_TRY(listen_unix(sock, false));
    SpawnSpec sp;
    sp.argv = {cfg_.virtiofsd, "--fd=3", "-o", "source=" + s.source, "-o", "cache=auto"};
    sp.fds = {{l.get(), 3}};
    sp.stdout_fd = log.get();
    sp.stderr_fd = log.get();
    pid_t pid = BERTH_TRY(spawn(sp));
    fsd_.push_back(pid);
    cfg_.qemu.shares.push_back({s.tag, sock});
  }

  int qmp[2], ctl[2], con[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) != 0)
    return fail(sys_error(errno, "socketpair"));
  UniqueFd qmp_here(qmp[0]), qmp_there(qmp[1]), ctl_here(ctl[0]), ctl_there(ctl[1]);
  UniqueFd con_here(con[0]), con_there(con[1]);
  console_log_.reset(
      ::open(file(kConsoleLog).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  // No image when the root is in the initramfs.
  UniqueFd image;
  if (!cfg_.qemu.rootfs.empty()) {
    image.reset(::open(cfg_.qemu.rootfs.c_str(), O_RDONLY | O_CLOEXEC));
    if (!image) return fail(sys_error(errno, "open {}", cfg_.qemu.rootfs));
  }

  QemuPlan plan = cfg_.qemu;
  plan.qmp_fd = 3;
  plan.agent_fd = 4;
  // The image by fd: a cache eviction that removes its name cannot race the open.
  plan.rootfs = image ? "/dev/fd/5" : "";
  plan.console_fd = 6;
  SpawnSpec sp;
  sp.argv = qemu_argv(plan);
  sp.fds = {{qmp_there.get(), 3}, {ctl_there.get(), 4}, {con_there.get(), 6}};
  if (image) sp.fds.push_back({image.get(), 5});
  sp.stdout_fd = log.get();
  sp.stderr_fd = log.get();
  sp.netns_fd = cfg_.netns_fd;
  log::debug("vm {}: {}", cfg_.id, join(sp.argv, " "));
  auto pid = spawn(sp);
  if (!pid) return fail(std::move(pid.error()));
  qemu_ = *pid;
  log::debug("vm {}: QEMU {} started", cfg_.id, qemu_);
  qemu_pidfd_.reset(sys::pidfd_open(qemu_));
  record_pids();
  qmp_ = QmpClient(std::move(qmp_here));
  agent_ = std::move(ctl_here);
  console_ = std::move(con_here);
  ::fcntl(agent_.get(), F_SETFL, O_NONBLOCK);
  // The config goes out at once: it waits in the socket (QEMU reads a virtio-serial port's
  // chardev only once the guest opened the port), so the agent finds it right after its
  // hello instead of a round trip later (~8 ms of the boot under TCG).
  send(proto::Type::kConfig, proto::encode_config(cfg_.guest));
  // The agent reads its input in order: the start waits behind the config.
  if (cfg_.start_at_once) send(proto::Type::kStart);
  return {};
}

void Monitor::record_pids() {
  std::string s;
  for (pid_t p : fsd_) s += fmt::format("{} {}\n", p, start_time_of(p));
  if (qemu_ > 0) s += fmt::format("{} {}\n", qemu_, start_time_of(qemu_));
  (void)file::write_atomic(file(kPidsFile), s, 0600, false);
}

void Monitor::report(const std::string& line) {
  if (!report_) return;
  if (line == "ready" || line == "running") create_answered_ = true;
  (void)control::send_line(report_.get(), line);
}

std::string Monitor::failure_detail() {
  // What the console still holds (a panic's last words).
  while (console_) {
    pollfd p{console_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    on_console();
  }
  // The last lines QEMU printed, else the end of the guest's console.
  for (const char* name : {kQemuLog, kConsoleLog}) {
    auto t = file::read(file(name));
    if (!t) continue;
    std::string_view s = trim(*t);
    if (s.empty()) continue;
    if (s.size() > 600) s = s.substr(s.size() - 600);
    std::string one(s);
    for (char& c : one)
      if (c == '\n' || c == '\r') c = ' ';
    return fmt::format(" ({}: {})", name, one);
  }
  return "";
}

void Monitor::on_frame(const proto::Frame& f) {
  using proto::Type;
  if (f.type != Type::kStdout && f.type != Type::kStderr)
    log::debug("vm {}: guest sent {}", cfg_.id, proto::type_name(f.type));
  switch (f.type) {
    case Type::kHello:
      if (phase_ == Phase::kBooting) {
        auto v = proto::decode_u32(f.payload);
        if (!v || *v != proto::kVersion)
          finish(255, "the guest agent speaks another protocol version");
        phase_ = Phase::kConfiguring;  // the config was sent with QEMU's start
      }
      break;
    case Type::kReady:
      if (phase_ == Phase::kConfiguring) {
        // Started at once: create hears of it with kStarted.
        phase_ = cfg_.start_at_once ? Phase::kStarting : Phase::kCreated;
        if (!cfg_.start_at_once) report("ready");
      }
      break;
    case Type::kError:
      if (phase_ == Phase::kBooting || phase_ == Phase::kConfiguring ||
          (cfg_.start_at_once && phase_ == Phase::kStarting)) {
        finish(255, std::string(f.payload));
      } else {
        for (auto& c : clients_)
          if (c.starter) {
            (void)control::send_line(c.fd.get(), "error " + f.payload);
            c.starter = false;
          }
        log::warn("vm {}: guest: {}", cfg_.id, f.payload);
      }
      break;
    case Type::kStarted:
      if (cfg_.start_at_once && phase_ == Phase::kStarting) report("running");
      phase_ = Phase::kRunning;
      stdin_open_ = in_fd_ >= 0;
      for (auto& c : clients_)
        if (c.starter) {
          (void)control::send_line(c.fd.get(), "ok");
          c.starter = false;
        }
      break;
    case Type::kStdout:
      if (!out_.broken) out_.buf += f.payload;
      break;
    case Type::kStderr:
      if (!err_.broken) (err_.fd >= 0 ? err_ : out_).buf += f.payload;
      break;
    case Type::kExit: {
      auto code = proto::decode_u32(f.payload);
      exited_ = true;
      send(Type::kAck);
      flush_agent();
      // All output and the guest's writes to shared directories are in: nothing in the VM
      // is worth a clean shutdown (its disk is a throwaway snapshot).
      hard_stop_ = true;
      finish(code ? static_cast<int>(*code) & 0xff : 255, "");
      break;
    }
    case Type::kLog:
      log::debug("vm {}: guest: {}", cfg_.id, f.payload);
      break;
    default:
      log::warn("vm {}: unexpected frame {} from the guest", cfg_.id, proto::type_name(f.type));
  }
}

void Monitor::on_agent() {
  char buf[65536];
  ssize_t n = ::read(agent_.get(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) finish(255, "the VM stopped before its process exited" + failure_detail());
  agent_in_.feed(buf, static_cast<size_t>(n));
  while (true) {
    auto f = agent_in_.next();
    if (!f) finish(255, "guest agent: " + f.error().text());
    if (!*f) break;
    on_frame(**f);
  }
}

void Monitor::flush_agent() {
  int64_t deadline = now_ms() + 2000;
  while (!agent_out_.empty() && now_ms() < deadline) {
    ssize_t n = ::send(agent_.get(), agent_out_.data(), agent_out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      agent_out_.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{agent_.get(), POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;
    }
  }
}

void Monitor::on_client(Client& c) {
  char buf[512];
  ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    c.gone = true;
    // An attached waiter (berth-runtime run) that goes away takes the VM with it.
    if (c.attached) finish(137, "the attached client went away");
    return;
  }
  c.in.append(buf, static_cast<size_t>(n));
  size_t nl;
  while ((nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    auto words = split(line, ' ');
    const std::string& verb = words.empty() ? line : words[0];
    if (verb == "start") {
      if (phase_ != Phase::kCreated) {
        (void)control::send_line(c.fd.get(), "error the VM is not in the created state");
      } else {
        phase_ = Phase::kStarting;
        c.starter = true;
        send(proto::Type::kStart);
      }
    } else if (verb == "kill" && words.size() == 3) {
      auto sig = parse_uint(words[1]);
      if (!sig || *sig == 0 || *sig > 64) {
        (void)control::send_line(c.fd.get(), "error bad signal");
      } else {
        // A frozen VM sees SIGKILL only once it runs again (as a frozen cgroup).
        if (*sig == SIGKILL && paused_ && qmp_.execute("cont", nullptr, 5000)) paused_ = false;
        send(proto::Type::kSignal, proto::encode_signal(static_cast<int>(*sig), words[2] == "1"));
        (void)control::send_line(c.fd.get(), "ok");
      }
    } else if (verb == "pause" || verb == "resume") {
      auto r = qmp_.execute(verb == "pause" ? "stop" : "cont", nullptr, 5000);
      if (r) paused_ = verb == "pause";
      (void)control::send_line(c.fd.get(), r ? "ok" : "error " + r.error().text());
    } else if (verb == "wait") {
      c.waiter = true;
      c.attached = words.size() > 1 && words[1] == "attach";
    } else if (verb == "shutdown") {
      c.shutdown = true;
      finish(137, "shut down by delete");
    } else {
      (void)control::send_line(c.fd.get(), "error unknown request");
    }
  }
}

void Monitor::accept_clients() {
  while (true) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    clients_.push_back(Client{UniqueFd(fd)});
  }
}

void Monitor::resize_from_tty() {
  if (cfg_.tty_fd < 0) return;
  winsize ws{};
  if (::ioctl(cfg_.tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    send(proto::Type::kResize, proto::encode_resize(ws.ws_row, ws.ws_col));
}

void Monitor::on_signals() {
  signalfd_siginfo si;
  while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      // virtiofsd ends when QEMU does; QEMU's end is seen on its pidfd.
      while (true) {
        pid_t p = ::waitpid(-1, nullptr, WNOHANG);
        if (p <= 0) break;
        if (std::erase(fsd_, p) && !exited_)
          finish(255, "virtiofsd exited before the VM" + failure_detail());
        if (p == qemu_) {
          qemu_ = -1;
          if (!exited_) finish(255, "the VM stopped before its process exited" + failure_detail());
        }
      }
    } else if (sig == SIGWINCH) {
      resize_from_tty();
    } else {
      // Signals sent to the monitor (berth-runtime run forwards them to the pid in the state)
      // go to the container process.
      send(proto::Type::kSignal, proto::encode_signal(sig, false));
    }
  }
}

void Monitor::on_qemu_gone() {
  // Take in what the agent still sent (its exit record may be there), then report.
  while (true) {
    pollfd p{agent_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    on_agent();
  }
  ::waitpid(qemu_, nullptr, 0);
  qemu_ = -1;
  finish(255, "the VM stopped before its process exited" + failure_detail());
}

void Monitor::on_console() {
  char buf[4096];
  ssize_t n = ::read(console_.get(), buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    console_.reset();
    return;
  }
  if (n < 0 || console_bytes_ >= kMaxConsoleLog || !console_log_) return;
  size_t k = std::min(static_cast<size_t>(n), kMaxConsoleLog - console_bytes_);
  console_bytes_ += k;
  ssize_t ignored = ::write(console_log_.get(), buf, k);
  (void)ignored;
}

void Monitor::on_stdin() {
  char buf[proto::kMaxData];
  ssize_t n = ::read(in_fd_, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    stdin_open_ = false;
    if (cfg_.tty_fd < 0) send(proto::Type::kStdinEof);
    return;
  }
  send(proto::Type::kStdin, std::string_view(buf, static_cast<size_t>(n)));
}

void Monitor::stop_helpers() {
  if (qemu_ > 0) {
    if (hard_stop_)
      ::kill(qemu_, SIGKILL);
    else if (qmp_.connected())
      (void)qmp_.quit(1000);
    else
      ::kill(qemu_, SIGTERM);
    pollfd p{qemu_pidfd_.get(), POLLIN, 0};
    if (!qemu_pidfd_ || ::poll(&p, 1, 3000) <= 0) ::kill(qemu_, SIGKILL);
    ::waitpid(qemu_, nullptr, 0);
    qemu_ = -1;
  }
  for (pid_t p : fsd_) ::kill(p, SIGTERM);
  int64_t deadline = now_ms() + 2000;
  while (!fsd_.empty()) {
    pid_t p = ::waitpid(-1, nullptr, WNOHANG);
    if (p > 0) {
      std::erase(fsd_, p);
      continue;
    }
    if (p < 0 || now_ms() > deadline) {
      for (pid_t q : fsd_) {
        ::kill(q, SIGKILL);
        ::waitpid(q, nullptr, 0);
      }
      fsd_.clear();
      break;
    }
    timespec ts{0, 5 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

void Monitor::finish(int code, const std::string& why) {
  if (!why.empty()) log::info("vm {}: stopping: {}", cfg_.id, why);
  // Everything the guest printed reaches the container's fds first.
  int64_t deadline = now_ms() + kFlushTimeoutMs;
  for (Sink* s : {&out_, &err_}) {
    while (!s->buf.empty() && !s->broken && now_ms() < deadline) {
      pollfd p{s->fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      s->write_some();
    }
  }
  (void)file::write_atomic(file(kExitCodeFile), std::to_string(code), 0600, false);
  stop_helpers();
  log::debug("vm {}: QEMU stopped, exit code {}", cfg_.id, code);
  if (!create_answered_) report("error " + (why.empty() ? "the VM stopped" : why));
  for (auto& c : clients_) {
    if (c.gone) continue;
    if (c.starter) (void)control::send_line(c.fd.get(), "error the VM stopped: " + why);
    if (c.waiter) (void)control::send_line(c.fd.get(), fmt::format("exit {}", code));
  }
  listen_.reset();
  ::unlink(file(control::kSocketName).c_str());
  for (const auto& s : cfg_.shares) ::unlink(file("fs-" + s.tag + ".sock").c_str());
  ::unlink(file(kPidsFile).c_str());
  _exit(code);
}

void Monitor::run() {
  // Our own session: a terminal's ^C goes to berth-runtime, which forwards it.
  ::setsid();
  if (cfg_.tty_fd >= 0) ::ioctl(cfg_.tty_fd, TIOCSCTTY, 0);
  ::prctl(PR_SET_NAME, "berth-vm-mon", 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  report_.reset(cfg_.report_fd);
  if (cfg_.tty_fd >= 0) {
    out_.fd = cfg_.tty_fd;
    in_fd_ = cfg_.tty_fd;
    termios t{};
    if (::tcgetattr(cfg_.tty_fd, &t) == 0) {
      cfmakeraw(&t);  // the guest's pty does the line discipline
      ::tcsetattr(cfg_.tty_fd, TCSANOW, &t);
    }
    winsize ws{};
    if (::ioctl(cfg_.tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && !cfg_.guest.process.rows) {
      cfg_.guest.process.rows = ws.ws_row;
      cfg_.guest.process.cols = ws.ws_col;
    }
  } else {
    out_.fd = 1;
    err_.fd = 2;
    in_fd_ = 0;
  }
  boot_deadline_ = now_ms() + cfg_.boot_timeout_ms;

  auto l = listen_unix(control::kSocketName, true);  // relative: see launch()
  if (!l) finish(255, l.error().text());
  listen_ = std::move(*l);
  if (auto r = launch(); !r) finish(255, r.error().text());
  if (auto r = qmp_.handshake(10000); !r) log::warn("vm {}: {}", cfg_.id, r.error().text());

  while (true) {
    std::vector<pollfd> fds;
    auto add = [&](int fd, short ev) {
      fds.push_back({fd, ev, 0});
      return fds.size() - 1;
    };
    bool room = out_.buf.size() < kHighWater && err_.buf.size() < kHighWater;
    size_t i_agent = add(
        agent_.get(), static_cast<short>((room ? POLLIN : 0) | (agent_out_.empty() ? 0 : POLLOUT)));
    size_t i_sig = add(sigfd_.get(), POLLIN);
    size_t i_qemu = add(qemu_pidfd_ ? qemu_pidfd_.get() : -1, POLLIN);
    size_t i_qmp = add(qmp_.fd(), POLLIN);
    size_t i_console = add(console_ ? console_.get() : -1, POLLIN);
    size_t i_listen = add(listen_.get(), POLLIN);
    size_t i_report = add(report_ ? report_.get() : -1, POLLIN);
    size_t i_in = add(stdin_open_ && agent_out_.size() < kHighWater ? in_fd_ : -1, POLLIN);
    size_t i_out = add(out_.buf.empty() ? -1 : out_.fd, POLLOUT);
    size_t i_err = add(err_.buf.empty() ? -1 : err_.fd, POLLOUT);
    size_t i_clients = fds.size();
    for (auto& c : clients_) add(c.fd.get(), POLLIN);

    int timeout = -1;
    if (!create_answered_) {
      int64_t left = boot_deadline_ - now_ms();
      if (left <= 0) finish(255, "the VM did not boot in time" + failure_detail());
      timeout = static_cast<int>(left);
    }
    int r = ::poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) finish(255, "poll: " + std::string(strerror(errno)));
    if (r <= 0) continue;

    if (fds[i_sig].revents) on_signals();
    if (fds[i_agent].revents & POLLOUT) {
      ssize_t n = ::send(agent_.get(), agent_out_.data(), agent_out_.size(), MSG_NOSIGNAL);
      if (n > 0) agent_out_.erase(0, static_cast<size_t>(n));
    }
    if (fds[i_agent].revents & (POLLIN | POLLHUP | POLLERR)) on_agent();
    if (fds[i_out].revents) out_.write_some();
    if (fds[i_err].revents) err_.write_some();
    if (fds[i_in].revents) on_stdin();
    if (fds[i_console].revents) on_console();
    if (fds[i_qmp].revents) {
      auto ev = qmp_.read_events();
      if (ev)
        for (const auto& e : *ev) log::info("vm {}: QMP event {}", cfg_.id, e.name);
    }
    if (fds[i_report].revents) {
      char b[16];
      ssize_t n = ::read(report_.get(), b, sizeof b);
      if (n > 0) {
        create_done_ = true;  // create recorded the state: the VM is on its own now
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        if (!create_done_) finish(255, "berth-runtime create went away");
        report_.reset();
      }
    }
    if (fds[i_listen].revents) accept_clients();
    size_t k = i_clients;
    for (auto& c : clients_)
      if (fds[k++].revents) on_client(c);
    clients_.remove_if([](const Client& c) { return c.gone; });
    if (fds[i_qemu].revents && !exited_) on_qemu_gone();
    // Send what the loop queued for the agent (kConfig, stdin, signals) right away.
    if (!agent_out_.empty()) {
      ssize_t n =
          ::send(agent_.get(), agent_out_.data(), agent_out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) agent_out_.erase(0, static_cast<size_t>(n));
    }
  }
}

}  // namespace

void run_monitor(MonitorConfig cfg) {
  UniqueFd log_fd(::open(path::join(cfg.state_dir, kMonitorLog).c_str(),
                         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  log::configure(log_fd.valid() ? log_fd.release() : -1, log::Format::kJson,
                 log::enabled(log::Level::kDebug) ? log::Level::kDebug : log::Level::kInfo);
  log::set_program("berth-vm-monitor");
  // Sockets are made with names relative to the state dir (see launch()); QEMU inherits it.
  if (::chdir(cfg.state_dir.c_str()) != 0) _exit(255);
  Monitor m(std::move(cfg));
  m.run();
}

}  // namespace berth::vm
