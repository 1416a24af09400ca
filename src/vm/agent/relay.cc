// The agent's session with the host over the control port: hello, config, ready, start,
// then stdio and signals until the process exits; the exit record; the host's ack.
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/agent/agent.h"

namespace berth::vm::agent {
namespace {

constexpr size_t kHighWater = 256 * 1024;  // stop reading the process's output above this

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

class Session {
 public:
  explicit Session(int port) : port_(port) {}
  void run(const std::string& timing);

 private:
  void send(proto::Type t, std::string_view payload = {}) {
    out_ += proto::encode_frame(t, payload);
  }
  void send_error(const Error& e) { send(proto::Type::kError, e.text()); }
  // Writes what the port takes now; with block, until all is written (or the port breaks).
  bool flush(bool block);
  bool handle(const proto::Frame& f);
  void on_config(const proto::Frame& f);
  void reap();
  void pump_output(UniqueFd& fd, proto::Type t);
  void pump_stdin();
  void finish();

  int port_;
  proto::Decoder in_;
  std::string out_;
  Child child_;
  bool configured_ = false;
  bool started_ = false;
  bool exited_ = false;
  int exit_code_ = 0;
  bool acked_ = false;
  std::string stdin_buf_;
  bool stdin_eof_ = false;
  UniqueFd sigfd_;
};

bool Session::flush(bool block) {
  while (!out_.empty()) {
    ssize_t n = ::write(port_, out_.data(), out_.size());
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!block) return true;
      pollfd p{port_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    return false;
  }
  return true;
}

void Session::on_config(const proto::Frame& f) {
  int64_t t0 = uptime_ms();
  auto c = proto::decode_config(f.payload);
  if (!c) return send_error(c.error());
  if (auto r = setup_root(*c); !r) return send_error(r.error());
  int64_t t_root = uptime_ms();
  if (auto r = setup_network(c->net); !r) return send_error(r.error());
  int64_t t_net = uptime_ms();
  auto ch = spawn_process(c->process);
  if (!ch) return send_error(ch.error());
  child_ = std::move(*ch);
  configured_ = true;
  // For the host's debug log: where the guest's part of the set-up went.
  send(proto::Type::kLog, fmt::format("config at {} ms: root {} ms, network {} ms, process {} ms",
                                      t0, t_root - t0, t_net - t_root, uptime_ms() - t_net));
  send(proto::Type::kReady, proto::encode_u32(static_cast<uint32_t>(child_.pid)));
}

bool Session::handle(const proto::Frame& f) {
  switch (f.type) {
    case proto::Type::kConfig:
      if (!configured_) on_config(f);
      break;
    case proto::Type::kStart:
      if (!configured_ || started_) break;
      started_ = true;
      if (auto r = start_process(child_); !r) {
        send_error(r.error());
      } else {
        send(proto::Type::kStarted);
      }
      break;
    case proto::Type::kStdin:
      if (!stdin_eof_) stdin_buf_ += f.payload;
      break;
    case proto::Type::kStdinEof:
      stdin_eof_ = true;
      break;
    case proto::Type::kSignal:
      if (auto s = proto::decode_signal(f.payload); s && child_.pid > 0 && !exited_) {
        if (s->second)
          ::kill(-1, s->first);
        else
          ::kill(child_.pid, s->first);
      }
      break;
    case proto::Type::kResize:
      if (auto r = proto::decode_resize(f.payload); r && child_.terminal && child_.stdout_r) {
        winsize ws{static_cast<unsigned short>(r->first), static_cast<unsigned short>(r->second), 0,
                   0};
        ::ioctl(child_.stdout_r.get(), TIOCSWINSZ, &ws);
      }
      break;
    case proto::Type::kAck:
      acked_ = true;
      break;
    default:
      break;
  }
  return true;
}

void Session::reap() {
  while (true) {
    int status = 0;
    pid_t p = ::waitpid(-1, &status, WNOHANG);
    if (p <= 0) return;
    if (p == child_.pid && !exited_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : 255;
      // As when a pid namespace's init dies: the rest of the container goes too, so its
      // output pipes reach end of file.
      ::kill(-1, SIGKILL);
    }
  }
}

void Session::pump_output(UniqueFd& fd, proto::Type t) {
  char buf[proto::kMaxData];
  while (fd && out_.size() < kHighWater) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      send(t, std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // End of file (or EIO: a terminal whose last holder closed it).
    if (child_.terminal && t == proto::Type::kStdout) child_.stdin_w.reset();
    fd.reset();
  }
}

void Session::pump_stdin() {
  while (child_.stdin_w && !stdin_buf_.empty()) {
    ssize_t n = ::write(child_.stdin_w.get(), stdin_buf_.data(), stdin_buf_.size());
    if (n > 0) {
      stdin_buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    child_.stdin_w.reset();  // EPIPE: the reader is gone
    stdin_buf_.clear();
  }
  if (stdin_eof_ && stdin_buf_.empty() && child_.stdin_w && !child_.terminal)
    child_.stdin_w.reset();
}

void Session::run(const std::string& timing) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  for (int s : kAgentIgnoredSignals) ::signal(s, SIG_IGN);

  send(proto::Type::kHello, proto::encode_u32(proto::kVersion));
  send(proto::Type::kLog, timing);
  bool exit_sent = false;
  int64_t ack_deadline = 0;
  while (true) {
    if (exited_ && !child_.stdout_r && !child_.stderr_r && !exit_sent) {
      sync_shared();
      send(proto::Type::kExit, proto::encode_u32(static_cast<uint32_t>(exit_code_)));
      exit_sent = true;
      ack_deadline = now_ms() + 10000;
    }
    if (!flush(false)) return;
    if (exit_sent && (acked_ || now_ms() > ack_deadline)) {
      flush(true);
      return;
    }
    pollfd fds[5];
    int n = 0;
    fds[n++] = {port_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
    fds[n++] = {sigfd_.get(), POLLIN, 0};
    int out_i = -1, err_i = -1, in_i = -1;
    bool room = out_.size() < kHighWater;
    if (started_ && child_.stdout_r && room) {
      out_i = n;
      fds[n++] = {child_.stdout_r.get(), POLLIN, 0};
    }
    if (started_ && child_.stderr_r && room) {
      err_i = n;
      fds[n++] = {child_.stderr_r.get(), POLLIN, 0};
    }
    if (child_.stdin_w && !stdin_buf_.empty()) {
      in_i = n;
      fds[n++] = {child_.stdin_w.get(), POLLOUT, 0};
    }
    int r = ::poll(fds, static_cast<nfds_t>(n), exit_sent ? 200 : -1);
    if (r < 0 && errno != EINTR) return;
    if (fds[1].revents) {
      signalfd_siginfo si;
      while (::read(sigfd_.get(), &si, sizeof si) > 0) {
      }
      reap();
    }
    if (fds[0].revents & POLLIN) {
      char buf[65536];
      ssize_t k = ::read(port_, buf, sizeof buf);
      if (k == 0) return;  // the host went away
      if (k > 0) {
        in_.feed(buf, static_cast<size_t>(k));
        while (true) {
          auto f = in_.next();
          if (!f) return;
          if (!*f) break;
          handle(**f);
        }
      }
    } else if (fds[0].revents & (POLLHUP | POLLERR)) {
      // Host side not connected: wait a little rather than spin.
      timespec ts{0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    if (out_i >= 0 && fds[out_i].revents) pump_output(child_.stdout_r, proto::Type::kStdout);
    if (err_i >= 0 && fds[err_i].revents) pump_output(child_.stderr_r, proto::Type::kStderr);
    if (in_i >= 0 && fds[in_i].revents) pump_stdin();
    pump_stdin();
    // Output still buffered in the pipes after the exit: drain without waiting for poll.
    if (exited_) {
      if (child_.stdout_r) pump_output(child_.stdout_r, proto::Type::kStdout);
      if (child_.stderr_r) pump_output(child_.stderr_r, proto::Type::kStderr);
    }
  }
}

}  // namespace

void run_session(int port, const std::string& timing) {
  Session s(port);
  s.run(timing);
}

}  // namespace berth::vm::agent
