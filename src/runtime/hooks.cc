#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/unique_fd.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Result<void> run_one(const oci::Hook& h, const std::string& where, const std::string& state) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return fail(sys_error(errno, "{}: pipe", where));
  UniqueFd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> av, ev;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) ev.push_back(e.data());
  ev.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "{}: fork", where));
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 2);
    // A hook's stdout goes where its stderr goes (runc mixes them too).
    ::dup2(err_w.get(), 1);
    ::execve(h.path.c_str(), av.data(), ev.data());
    dprintf(2, "exec %s: %s", h.path.c_str(), strerror(errno));
    _exit(127);
  }
  in_r.reset();
  err_w.reset();
  // A hook that does not read stdin must not kill us with SIGPIPE; the old disposition comes
  // back at once (it would otherwise pass into the container's program).
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  (void)!::write(in_w.get(), state.data(), state.size());
  in_w.reset();
  ::sigaction(SIGPIPE, &old, nullptr);
  UniqueFd pidfd(sys::pidfd_open(pid));
  std::string output;
  int64_t deadline = h.timeout ? now_ms() + int64_t{*h.timeout} * 1000 : -1;
  bool timed_out = false;
  pollfd fds[2] = {{err_r.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  while (true) {
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t r = ::read(err_r.get(), buf, sizeof buf);
      if (r > 0 && output.size() < 65536) output.append(buf, static_cast<size_t>(r));
      if (r <= 0) fds[0].fd = -1;
    }
    if (fds[1].revents & POLLIN) break;  // the hook exited
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  std::string tail = output.empty() ? "" : ": " + output;
  if (timed_out)
    return fail(make_error(ErrorKind::kInternal, "{} ({}): timed out after {} s{}", where, h.path,
                           *h.timeout, tail));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFSIGNALED(status))
    return fail(make_error(ErrorKind::kInternal, "{} ({}): killed by signal {}{}", where, h.path,
                           WTERMSIG(status), tail));
  return fail(make_error(ErrorKind::kInternal, "{} ({}): exited with status {}{}", where, h.path,
                         WEXITSTATUS(status), tail));
}

}  // namespace

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, std::string_view phase,
                       const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    BERTH_CHECK(run_one(hooks[i], fmt::format("hooks.{}[{}]", phase, i), state_json));
  return {};
}

}  // namespace berth::runtime
