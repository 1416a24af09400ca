#include "vm/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "runtime/proc_info.h"
#include "sys/syscalls.h"

namespace berth::vm {
namespace {

void write_errno(int fd, int err) {
  ssize_t ignored = ::write(fd, &err, sizeof err);
  (void)ignored;
}

}  // namespace

Result<pid_t> spawn(const SpawnSpec& s) {
  if (s.argv.empty()) return fail(invalid("spawn: empty argv"));
  std::vector<char*> argv;
  for (const auto& a : s.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int errp[2];
  if (::pipe2(errp, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
  UniqueFd err_r(errp[0]), err_w(errp[1]);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork {}", s.argv[0]));
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    int ew = err_w.get();
    if (s.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (::getppid() != parent) _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (s.netns_fd >= 0 && ::setns(s.netns_fd, CLONE_NEWNET) != 0) {
      write_errno(ew, errno);
      _exit(127);
    }
    int null = ::open("/dev/null", O_RDWR);
    // Park every fd to pass above the highest target, then place it.
    constexpr int kPark = 512;
    int parked[64];
    size_t n = s.fds.size() < 64 ? s.fds.size() : 64;
    for (size_t i = 0; i < n; ++i) parked[i] = ::fcntl(s.fds[i].first, F_DUPFD, kPark);
    int io[3] = {s.stdin_fd, s.stdout_fd, s.stderr_fd};
    for (int i = 0; i < 3; ++i) io[i] = ::fcntl(io[i] >= 0 ? io[i] : null, F_DUPFD, kPark);
    ew = ::fcntl(ew, F_DUPFD_CLOEXEC, kPark + 100);
    for (int i = 0; i < 3; ++i) ::dup2(io[i], i);
    for (size_t i = 0; i < n; ++i) ::dup2(parked[i], s.fds[i].second);
    int highest = 2;
    for (size_t i = 0; i < n; ++i) highest = std::max(highest, s.fds[i].second);
    for (int fd = 3; fd <= highest; ++fd) {
      bool keep = false;
      for (size_t i = 0; i < n; ++i) keep = keep || s.fds[i].second == fd;
      if (!keep) ::close(fd);
    }
    // Everything above the passed fds closes at exec, our error pipe included.
    sys::close_range(static_cast<unsigned>(highest + 1), ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
    ::execv(argv[0], argv.data());
    write_errno(ew, errno);
    _exit(127);
  }
  err_w.reset();
  int err = 0;
  ssize_t k;
  do {
    k = ::read(err_r.get(), &err, sizeof err);
  } while (k < 0 && errno == EINTR);
  if (k == sizeof err) {
    ::waitpid(pid, nullptr, 0);
    return fail(sys_error(err, "exec {}", s.argv[0]));
  }
  return pid;
}

Result<CommandResult> run_command(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
  UniqueFd r(p[0]), w(p[1]);
  SpawnSpec s;
  s.argv = argv;
  s.stdout_fd = w.get();
  s.stderr_fd = w.get();
  pid_t pid = BERTH_TRY(spawn(s));
  w.reset();
  CommandResult out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < (1 << 20)) out.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

uint64_t start_time_of(pid_t pid) {
  auto st = runtime::read_proc_stat(pid);
  return st ? st->start_time : 0;
}

}  // namespace berth::vm
