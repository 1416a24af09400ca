#include "engine/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/trace.h"
#include "engine/logs.h"
#include "oci/json_read.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/proc_info.h"
#include "sys/syscalls.h"
#include "vm/vm_handler.h"

namespace berth::engine {

using nlohmann::json;

std::string monitor_config_json(const MonitorConfig& c) {
  json j = {{"id", c.id},
            {"bundle", c.bundle},
            {"runtimeRoot", c.runtime_root},
            {"monitorDir", c.monitor_dir},
            {"logPath", c.log_path},
            {"logMaxSize", c.log_max_size},
            {"logMaxFile", c.log_max_file},
            {"restart", {{"name", c.restart.name}, {"maxRetries", c.restart.max_retries}}},
            {"interactive", c.interactive},
            {"tty", c.tty},
            {"onExit", c.on_exit}};
  if (c.health)
    j["health"] = {{"test", c.health->test},
                   {"intervalMs", c.health->interval_ms},
                   {"timeoutMs", c.health->timeout_ms},
                   {"startPeriodMs", c.health->start_period_ms},
                   {"retries", c.health->retries}};
  return j.dump();
}

Result<MonitorConfig> parse_monitor_config(std::string_view text) {
  return oci::jr::parse_with(text, "monitor.json", [](const oci::jr::Obj& j) {
    MonitorConfig c;
    c.id = j.string("id", true);
    c.bundle = j.string("bundle", true);
    c.runtime_root = j.string("runtimeRoot", true);
    c.monitor_dir = j.string("monitorDir", true);
    c.log_path = j.string("logPath", true);
    c.log_max_size = j.i64("logMaxSize");
    c.log_max_file = static_cast<int>(j.i64("logMaxFile"));
    if (auto r = j.object("restart")) {
      c.restart.name = r->string("name", false, "no");
      c.restart.max_retries = static_cast<int>(r->i64("maxRetries"));
    }
    if (auto h = j.object("health")) c.health = health_from_json(*h);
    c.interactive = j.boolean("interactive");
    c.tty = j.boolean("tty");
    c.on_exit = j.strings("onExit");
    return c;
  });
}

std::string monitor_status_json(const MonitorStatus& s) {
  return json{{"state", s.state},
              {"pid", s.pid},
              {"pidStartTime", s.pid_start_time},
              {"exitCode", s.exit_code},
              {"startedAt", s.started_at},
              {"finishedAt", s.finished_at},
              {"restartCount", s.restart_count},
              {"error", s.error},
              {"health", s.health},
              {"failingStreak", s.failing_streak},
              {"healthLog", s.health_log},
              {"monitorPid", s.monitor_pid}}
      .dump();
}

Result<MonitorStatus> parse_monitor_status(std::string_view text) {
  return oci::jr::parse_with(text, "status.json", [](const oci::jr::Obj& j) {
    MonitorStatus s;
    s.state = j.string("state");
    s.pid = static_cast<pid_t>(j.i64("pid"));
    s.pid_start_time = j.u64("pidStartTime");
    s.exit_code = static_cast<int>(j.i64("exitCode"));
    s.started_at = j.i64("startedAt");
    s.finished_at = j.i64("finishedAt");
    s.restart_count = static_cast<int>(j.i64("restartCount"));
    s.error = j.string("error");
    s.health = j.string("health");
    s.failing_streak = static_cast<int>(j.i64("failingStreak"));
    s.health_log = j.string("healthLog");
    s.monitor_pid = static_cast<pid_t>(j.i64("monitorPid"));
    return s;
  });
}

Result<MonitorStatus> read_monitor_status(const std::string& dir) {
  std::string text = BERTH_TRY(file::read(path::join(dir, "status.json")));
  return parse_monitor_status(text);
}

namespace {

int64_t mono_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Foreground: signals to berth are written to a self-pipe and forwarded in the loop.
int g_sig_read = -1, g_sig_write = -1;
void on_signal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  (void)!::write(g_sig_write, &b, 1);
}

// Points this process's fds 0, 1 and 2 at the given fds while f runs (the runtime gives the
// container the caller's stdio), then puts them back.
template <typename F>
auto with_stdio(int in, int out, int err, F&& f) {
  int saved[3];
  for (int i = 0; i < 3; ++i) saved[i] = ::fcntl(i, F_DUPFD_CLOEXEC, 3);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  auto r = f();
  for (int i = 0; i < 3; ++i) {
    if (saved[i] >= 0) {
      ::dup2(saved[i], i);
      ::close(saved[i]);
    }
  }
  return r;
}

class Session {
 public:
  Session(const MonitorConfig& cfg, const MonitorIo& io, const oci::Spec& spec,
          const std::string& config_text, LogWriter& log, MonitorStatus& st)
      : cfg_(cfg),
        io_(io),
        spec_(spec),
        config_text_(config_text),
        log_(log),
        st_(st),
        store_(cfg.runtime_root),
        handler_(vm::handler_for_spec(store_, spec)) {}

  // One life of the container: create, start, relay, wait. Returns its exit code.
  Result<int> run_once();

 private:
  void save() {
    (void)file::write_atomic(path::join(cfg_.monitor_dir, "status.json"), monitor_status_json(st_),
                             0644, false);
  }
  void health_tick(int64_t now);
  void health_done();

  const MonitorConfig& cfg_;
  const MonitorIo& io_;
  const oci::Spec& spec_;
  const std::string& config_text_;
  LogWriter& log_;
  MonitorStatus& st_;
  runtime::Store store_;
  std::unique_ptr<runtime::Handler> handler_;  // the VM handler for --isolation=vm
  int64_t started_ms_ = 0;
  int64_t next_check_ms_ = 0;
  pid_t check_pid_ = -1;
  UniqueFd check_out_;
  int64_t check_deadline_ms_ = 0;
  std::string check_output_;
};

void Session::health_tick(int64_t now) {
  if (!cfg_.health || cfg_.health->test.empty()) return;
  if (check_pid_ > 0) {
    if (now >= check_deadline_ms_) {
      ::kill(check_pid_, SIGKILL);
      check_output_ += "health check timed out";
    }
    return;
  }
  if (now < next_check_ms_) return;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  UniqueFd r(p[0]), w(p[1]);
  runtime::ExecOptions eo;
  eo.process = *spec_.process;
  eo.process.args = cfg_.health->test;
  eo.process.terminal = false;
  eo.detach = true;
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto pid =
      with_stdio(devnull.get(), w.get(), w.get(), [&] { return handler_->exec(cfg_.id, eo); });
  if (!pid) {
    check_output_ = pid.error().text();
    check_pid_ = -1;
    health_done();
    return;
  }
  check_pid_ = *pid;
  check_out_ = std::move(r);
  check_output_.clear();
  check_deadline_ms_ = now + cfg_.health->timeout_ms;
}

void Session::health_done() {
  int status = 1;
  if (check_pid_ > 0) {
    int ws = 0;
    if (::waitpid(check_pid_, &ws, 0) == check_pid_ && WIFEXITED(ws)) status = WEXITSTATUS(ws);
  }
  check_pid_ = -1;
  check_out_.reset();
  int64_t now = mono_ms();
  next_check_ms_ = now + cfg_.health->interval_ms;
  bool in_start_period = now - started_ms_ < cfg_.health->start_period_ms;
  if (status == 0) {
    st_.health = "healthy";
    st_.failing_streak = 0;
  } else if (!in_start_period) {
    ++st_.failing_streak;
    if (st_.failing_streak >= cfg_.health->retries) st_.health = "unhealthy";
  }
  if (check_output_.size() > 4096) check_output_.resize(4096);
  st_.health_log = check_output_;
  save();
}

Result<int> Session::run_once() {
  int out[2], err[2], in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return fail(sys_error(errno, "pipe"));
  UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  UniqueFd in_r, in_w;
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (cfg_.interactive && !cfg_.tty) {
    if (::pipe2(in, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
    in_r.reset(in[0]);
    in_w.reset(in[1]);
  }
  UniqueFd console_mine, console_theirs;
  runtime::CreateOptions co;
  co.bundle = cfg_.bundle;
  co.config_json = config_text_;
  co.start = true;  // a handler that can starts it within create (start_unless_started)
  if (cfg_.tty) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return fail(sys_error(errno, "socketpair"));
    console_mine.reset(sv[0]);
    console_theirs.reset(sv[1]);
    co.console_fd = console_theirs.get();
  }
  // Whatever a crashed monitor left of this container goes first.
  if (!io_.fresh || st_.restart_count > 0)
    (void)vm::handler_for(store_, cfg_.id)->remove(cfg_.id, true);
  trace::mark("monitor: stale removed");
  auto created = with_stdio(in_r ? in_r.get() : devnull.get(), out_w.get(), err_w.get(),
                            [&] { return handler_->create(cfg_.id, spec_, co); });
  out_w.reset();
  err_w.reset();
  in_r.reset();
  console_theirs.reset();
  if (!created) return fail(std::move(created.error()));
  trace::mark("monitor: created");
  UniqueFd master;
  if (cfg_.tty) master = BERTH_TRY(runtime::recv_fd(console_mine.get()));
  oci::State rs = BERTH_TRY(runtime::start_unless_started(*handler_, cfg_.id));
  UniqueFd pidfd(sys::pidfd_open(rs.pid));
  st_.state = "running";
  st_.pid = rs.pid;
  st_.pid_start_time = rs.pid_start_time;
  st_.started_at = now_ns();
  st_.error.clear();
  if (cfg_.health) {
    st_.health = "starting";
    st_.failing_streak = 0;
  }
  save();
  started_ms_ = mono_ms();
  if (cfg_.health) next_check_ms_ = started_ms_ + cfg_.health->interval_ms;
  if (io_.started) io_.started({});
  trace::mark("monitor: started, status saved");

  bool relay_in = io_.relay && (cfg_.interactive || cfg_.tty);
  termios saved_tio{};
  bool raw = false;
  if (io_.relay && cfg_.tty && ::isatty(0) && ::tcgetattr(0, &saved_tio) == 0) {
    termios t = saved_tio;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    raw = true;
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master.get(), TIOCSWINSZ, &ws);
  }
  Defer restore_tio([&] {
    if (raw) ::tcsetattr(0, TCSANOW, &saved_tio);
  });
  int exit_code = -1;
  bool exited = false;
  int64_t drain_deadline = 0;
  char buf[65536];
  while (true) {
    // fds: 0 out, 1 err, 2 master, 3 stdin, 4 pidfd, 5 signals, 6 health check output
    pollfd p[7];
    p[0] = {out_r ? out_r.get() : -1, POLLIN, 0};
    p[1] = {err_r ? err_r.get() : -1, POLLIN, 0};
    p[2] = {master ? master.get() : -1, POLLIN, 0};
    p[3] = {relay_in ? 0 : -1, POLLIN, 0};
    p[4] = {exited ? -1 : pidfd.get(), POLLIN, 0};
    p[5] = {io_.relay ? g_sig_read : -1, POLLIN, 0};
    p[6] = {check_out_ ? check_out_.get() : -1, POLLIN, 0};
    bool open_streams = out_r || err_r || master;
    if (exited && (!open_streams || mono_ms() > drain_deadline)) break;
    int timeout = 1000;
    if (cfg_.health) timeout = 100;
    if (exited) timeout = static_cast<int>(std::max<int64_t>(1, drain_deadline - mono_ms()));
    int n = ::poll(p, 7, timeout);
    if (n < 0 && errno != EINTR) break;
    health_tick(mono_ms());
    if (n <= 0) continue;
    auto pump = [&](UniqueFd& fd, const char* stream, int echo_fd, short rev) {
      if (!(rev & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t k = ::read(fd.get(), buf, sizeof buf);
      if (k <= 0) {
        fd.reset();
        return;
      }
      log_.write(stream, std::string_view(buf, static_cast<size_t>(k)));
      if (io_.relay) runtime::write_all(echo_fd, buf, static_cast<size_t>(k));
    };
    if (out_r) pump(out_r, "stdout", 1, p[0].revents);
    if (err_r) pump(err_r, "stderr", 2, p[1].revents);
    if (master) pump(master, "stdout", 1, p[2].revents);
    if (relay_in && (p[3].revents & (POLLIN | POLLHUP))) {
      ssize_t k = ::read(0, buf, sizeof buf);
      if (k <= 0) {
        relay_in = false;
        in_w.reset();  // EOF reaches the container
      } else {
        runtime::write_all(master ? master.get() : in_w.get(), buf, static_cast<size_t>(k));
      }
    }
    if (!exited && (p[4].revents & POLLIN)) {
      int ws = 0;
      pid_t w;
      do {
        w = ::waitpid(st_.pid, &ws, 0);
      } while (w < 0 && errno == EINTR);
      exit_code = w == st_.pid ? (WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws)) : 255;
      exited = true;
      trace::mark("monitor: exit reaped");
      // Processes the container left behind may hold the pipes: read what is there, briefly.
      drain_deadline = mono_ms() + 200;
    }
    if (p[5].fd >= 0 && (p[5].revents & POLLIN)) {
      unsigned char sig;
      if (::read(p[5].fd, &sig, 1) == 1 && !exited) (void)handler_->kill(cfg_.id, sig, false);
    }
    if (check_out_ && (p[6].revents & (POLLIN | POLLHUP))) {
      ssize_t k = ::read(check_out_.get(), buf, sizeof buf);
      if (k > 0) {
        check_output_.append(buf, static_cast<size_t>(k));
      } else {
        health_done();
      }
    }
  }
  log_.flush();
  if (check_pid_ > 0) {
    ::kill(check_pid_, SIGKILL);
    ::waitpid(check_pid_, nullptr, 0);
    check_pid_ = -1;
  }
  trace::mark("monitor: loop done");
  (void)handler_->remove(cfg_.id, true);
  trace::mark("monitor: runtime removed");
  return exit_code;
}

bool should_restart(const MonitorConfig& cfg, const MonitorStatus& st, int exit_code) {
  if (file::exists(path::join(cfg.monitor_dir, "stop"))) return false;
  // The container's record or the monitor's dir is gone (removed behind our back, or a
  // whole store deleted): nothing may run for it any more.
  if (!file::exists(cfg.monitor_dir) || !file::exists(cfg.bundle)) return false;
  const RestartPolicy& p = cfg.restart;
  if (p.name == "always" || p.name == "unless-stopped") return true;
  if (p.name == "on-failure")
    return exit_code != 0 && (p.max_retries == 0 || st.restart_count < p.max_retries);
  return false;
}

}  // namespace

Result<int> run_monitor(const MonitorConfig& cfg, const MonitorIo& io) {
  // The caller's spec if it has one (not copied), else the bundle's.
  std::string own_text;
  oci::Spec own_spec;
  if (!io.config_text || !io.spec) {
    own_text = BERTH_TRY(file::read(path::join(cfg.bundle, "config.json")));
    own_spec = BERTH_TRY(oci::parse_spec(own_text));
  }
  const std::string& config_text = io.config_text && io.spec ? *io.config_text : own_text;
  const oci::Spec& spec = io.config_text && io.spec ? *io.spec : own_spec;
  BERTH_CHECK(oci::validate(spec));
  LogWriter log = BERTH_TRY(LogWriter::open(cfg.log_path, cfg.log_max_size, cfg.log_max_file));
  MonitorStatus st;
  if (auto old = read_monitor_status(cfg.monitor_dir)) st.restart_count = old->restart_count;
  st.monitor_pid = getpid();
  // Foreground: signals to berth reach the container (a self-pipe, read in the loop).
  int sp[2];
  if (io.relay && g_sig_read < 0 && ::pipe2(sp, O_CLOEXEC | O_NONBLOCK) == 0) {
    g_sig_read = sp[0];
    g_sig_write = sp[1];
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(s, &sa, nullptr);
  }
  int64_t backoff_ms = 100;
  int code = 0;
  bool first = true;
  while (true) {
    Session s(cfg, io, spec, config_text, log, st);
    int64_t t0 = mono_ms();
    auto r = s.run_once();
    if (!r) {
      st.state = "exited";
      st.error = r.error().text();
      st.exit_code = r.error().kind() == ErrorKind::kNotFound           ? 127
                     : r.error().kind() == ErrorKind::kPermissionDenied ? 126
                                                                        : 125;
      st.finished_at = now_ns();
      st.pid = 0;
      (void)file::write_atomic(path::join(cfg.monitor_dir, "status.json"), monitor_status_json(st),
                               0644, false);
      if (first) {
        if (io.started) io.started(fail(r.error()));
        return fail(std::move(r.error()));
      }
      code = st.exit_code;
    } else {
      code = *r;
      st.exit_code = code;
      st.finished_at = now_ns();
      st.state = "exited";
      st.pid = 0;
    }
    first = false;
    if (!should_restart(cfg, st, code)) break;
    // Back-off: 100 ms doubling to a minute; a run of 10 s or more starts over.
    if (mono_ms() - t0 >= 10000) backoff_ms = 100;
    st.state = "restarting";
    (void)file::write_atomic(path::join(cfg.monitor_dir, "status.json"), monitor_status_json(st),
                             0644, false);
    for (int64_t waited = 0; waited < backoff_ms; waited += 50) {
      if (file::exists(path::join(cfg.monitor_dir, "stop"))) break;
      usleep(50 * 1000);
    }
    if (file::exists(path::join(cfg.monitor_dir, "stop"))) break;
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 60000);
    ++st.restart_count;
  }
  st.state = "exited";
  (void)file::write_atomic(path::join(cfg.monitor_dir, "status.json"), monitor_status_json(st),
                           0644, false);
  if (!cfg.on_exit.empty()) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      std::vector<char*> av;
      for (const auto& a : cfg.on_exit) av.push_back(const_cast<char*>(a.c_str()));
      av.push_back(nullptr);
      ::execv(av[0], av.data());
      _exit(127);
    }
  }
  return code;
}

}  // namespace berth::engine
