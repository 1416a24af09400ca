// Starting and stopping the per-network DNS responders (dns_server.h). A responder is a
// detached process (double fork, new session, stdio on /dev/null and a log file), so it
// belongs to no berth process; its lock file says whether it runs, its pid file who it is.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "net/detail.h"
#include "runtime/proc_info.h"

namespace berth::net::detail {

namespace {

std::string base(const Store& s, const std::string& id) { return s.dns_dir() + "/" + id; }

// A copy of fd at 10 or above, so the child's dup2 onto 0..3 never clobbers a source.
UniqueFd high(int fd) { return UniqueFd(fcntl(fd, F_DUPFD_CLOEXEC, 10)); }

bool wait_exit(int pidfd, int ms) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

}  // namespace

bool responder_running(const Store& s, const std::string& net_id) {
  UniqueFd fd(::open((base(s, net_id) + ".lock").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;  // nobody holds it
  return errno == EWOULDBLOCK;
}

std::vector<std::string> responder_ids(const Store& s) {
  std::set<std::string> ids;
  if (DIR* d = opendir(s.dns_dir().c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      for (const char* suf : {".lock", ".pid", ".conf", ".log"})
        if (n.ends_with(suf) && n[0] != '.') ids.insert(n.substr(0, n.size() - strlen(suf)));
    }
    closedir(d);
  }
  return {ids.begin(), ids.end()};
}

Result<void> start_responder(const Config& c, const Store& s, const NetworkRecord& n) {
  if (c.dns_helper.empty())
    return fail(make_error(ErrorKind::kUnavailable, "no DNS responder program configured"));
  std::vector<std::string> args = c.dns_helper;
  for (const std::string& a :
       {std::string("--store"), s.dir(), std::string("--network"), n.id, std::string("--bridge"),
        n.bridge, std::string("--listen"), n.gateway.str(), std::string("--port"),
        std::to_string(c.dns_port), std::string("--ready-fd"), std::string("3")})
    args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
  UniqueFd rd(p[0]), wr0(p[1]);
  UniqueFd wr = high(wr0.get());
  wr0.reset();
  UniqueFd null0(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd null = high(null0.get());
  null0.reset();
  std::string log_path = base(s, n.id) + ".log";
  UniqueFd log0(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  UniqueFd logfd = log0 ? high(log0.get()) : UniqueFd();
  log0.reset();
  if (!wr || !null) return fail(sys_error(errno, "prepare DNS responder fds"));

  // Only async-signal-safe calls between fork and exec: the caller may have threads.
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork DNS responder"));
  if (pid == 0) {
    ::setsid();
    pid_t again = ::fork();
    if (again != 0) ::_exit(again < 0 ? 1 : 0);
    int err = logfd ? logfd.get() : null.get();
    ::dup2(null.get(), 0);
    ::dup2(null.get(), 1);
    ::dup2(err, 2);
    ::dup2(wr.get(), 3);
    for (int fd = 0; fd <= 3; ++fd) ::fcntl(fd, F_SETFD, 0);
    ::syscall(SYS_close_range, 4, ~0u, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
    if (::chdir("/") != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  wr.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string msg;
  pollfd pf{rd.get(), POLLIN, 0};
  for (int waited = 0; waited < 5000;) {
    int k = ::poll(&pf, 1, 100);
    if (k > 0) {
      char buf[512];
      ssize_t got = ::read(rd.get(), buf, sizeof buf);
      if (got <= 0) break;
      msg.append(buf, static_cast<size_t>(got));
      if (msg.find('\n') != std::string::npos) break;
    } else if (k == 0) {
      waited += 100;
    } else if (errno != EINTR) {
      break;
    }
  }
  if (msg.rfind("ok", 0) == 0) return {};
  std::string why = msg.empty() ? "it exited before it was ready" : std::string(trim(msg));
  if (auto lg = file::read(log_path); lg && !lg->empty())
    why += " (" + std::string(trim(*lg)) + ")";
  return fail(make_error(ErrorKind::kUnavailable,
                         "start the DNS responder of network {} on {}:{}: {}", n.name,
                         n.gateway.str(), c.dns_port, why));
}

Result<void> stop_responder(const Store& s, const std::string& net_id) {
  std::string b = base(s, net_id);
  if (responder_running(s, net_id)) {
    auto text = file::read(b + ".pid");
    std::vector<std::string> w = text ? split(trim(*text), ' ') : std::vector<std::string>{};
    auto pid = w.size() == 2 ? parse_int(w[0]) : std::nullopt;
    auto start = w.size() == 2 ? parse_uint(w[1]) : std::nullopt;
    if (pid && start && *pid > 0) {
      UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(*pid), 0)));
      if (pidfd && runtime::process_alive(static_cast<pid_t>(*pid), *start)) {
        ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
        if (!wait_exit(pidfd.get(), 3000)) {
          ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
          wait_exit(pidfd.get(), 2000);
        }
      }
    }
    // Wait for the lock to go (the kernel releases it once the process is gone).
    for (int i = 0; i < 50 && responder_running(s, net_id); ++i) ::usleep(20000);
    if (responder_running(s, net_id))
      return fail(make_error(ErrorKind::kInternal, "DNS responder of {} does not stop", net_id));
  }
  for (const char* suf : {".pid", ".conf", ".log", ".lock"}) ::unlink((b + suf).c_str());
  return {};
}

}  // namespace berth::net::detail
