// The container process in the guest: forked by the agent, set up (stdio, session, rlimits,
// oom score, cwd, user, capabilities, no_new_privs, the program found along PATH), then held
// until the host says start. Setup failures come back as text over a status pipe.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "vm/agent/agent.h"

namespace berth::vm::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool has_env(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return true;
  return false;
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return {};
}

// HOME from the container's /etc/passwd (else "/"), and PATH, when absent.
std::vector<std::string> final_env(const proto::GuestProcess& p) {
  std::vector<std::string> env = p.env;
  if (!has_env(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
  if (!has_env(env, "HOME")) {
    std::string home = "/";
    if (auto pw = file::read("/etc/passwd")) {
      for (const auto& line : split(*pw, '\n')) {
        auto f = split(line, ':');
        if (f.size() >= 6 && parse_uint(f[2]) == p.uid) {
          home = f[5];
          break;
        }
      }
    }
    env.push_back("HOME=" + home);
  }
  return env;
}

Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) return fail(invalid("process.args[0] is empty"));
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return fail(sys_error(errno, "exec {}", name));
    return name;
  }
  std::string p = env_value(env, "PATH");
  if (p.empty()) p = kDefaultPath;
  for (const auto& dir : split(p, ':')) {
    std::string cand = path::join(dir.empty() ? "." : dir, name);
    struct stat st {};
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0)
      return cand;
  }
  return fail(
      make_error(ErrorKind::kNotFound, "exec {:?}: executable file not found in $PATH", name));
}

int last_cap() {
  auto t = file::read("/proc/sys/kernel/cap_last_cap");
  auto v = t ? parse_int(trim(*t)) : std::nullopt;
  return v ? static_cast<int>(*v) : 40;
}

// While still privileged (CAP_SETPCAP): sets[0] is the bounding set.
Result<void> drop_bounding(const std::vector<uint64_t>& sets) {
  int last = last_cap();
  for (int c = 0; c <= last; ++c)
    if (!(sets[0] & (uint64_t(1) << c)) && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
      return fail(sys_error(errno, "drop capability {} from the bounding set", c));
  return {};
}

// After the user switch (permitted kept by PR_SET_KEEPCAPS).
Result<void> set_caps(const std::vector<uint64_t>& sets) {
  // sets: bounding, effective, inheritable, permitted, ambient.
  int last = last_cap();
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(sets[1] >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(sets[2] >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(sets[3] >> (32 * i));
  }
  if (::syscall(SYS_capset, &hdr, data) != 0) return fail(sys_error(errno, "capset"));
  // As runc does, an ambient capability that is not also permitted and inheritable is
  // skipped (runc's default spec asks for such).
  for (int c = 0; c <= last; ++c)
    if (sets[4] & (uint64_t(1) << c)) ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
  return {};
}

Result<void> set_user(const proto::GuestProcess& p) {
  std::vector<gid_t> gids(p.additional_gids.begin(), p.additional_gids.end());
  if (::setgroups(gids.size(), gids.data()) != 0) return fail(sys_error(errno, "setgroups"));
  if (::setresgid(p.gid, p.gid, p.gid) != 0) return fail(sys_error(errno, "setgid {}", p.gid));
  if (p.capabilities) ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (::setresuid(p.uid, p.uid, p.uid) != 0) return fail(sys_error(errno, "setuid {}", p.uid));
  return {};
}

// Everything between fork and the wait for "start"; `ctty` is the terminal slave or -1.
Result<std::string> setup_child(const proto::GuestProcess& p, int ctty) {
  if (::setsid() < 0) return fail(sys_error(errno, "setsid"));
  if (ctty >= 0 && ::ioctl(ctty, TIOCSCTTY, 0) != 0)
    return fail(sys_error(errno, "set the controlling terminal"));
  for (const auto& r : p.rlimits) {
    rlimit l{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &l) != 0)
      return fail(sys_error(errno, "setrlimit {}", r.resource));
  }
  if (p.oom_score_adj)
    BERTH_CHECK(file::write("/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj)));
  if (p.umask) ::umask(*p.umask);
  // The cwd is made if the image lacks it, as runc does.
  if (::chdir(p.cwd.c_str()) != 0) {
    BERTH_CHECK(file::mkdir_all(p.cwd));
    if (::chdir(p.cwd.c_str()) != 0) return fail(sys_error(errno, "chdir {}", p.cwd));
  }
  if (p.capabilities && p.capabilities->size() != 5)
    return fail(invalid("capabilities: expected 5 sets"));
  if (p.capabilities) BERTH_CHECK(drop_bounding(*p.capabilities));
  BERTH_CHECK(set_user(p));
  if (p.capabilities) BERTH_CHECK(set_caps(*p.capabilities));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail(sys_error(errno, "no_new_privs"));
  if (p.args.empty()) return fail(invalid("process.args: empty"));
  return find_executable(p.args[0], final_env(p));
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

[[noreturn]] void child_main(const proto::GuestProcess& p, int in, int out, int err, int ctty,
                             int go_r, int status_w) {
  // Signals the agent blocks (it reads them from a signalfd) are unblocked for the program.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_UNBLOCK, &all, nullptr);
  // Ignored signals stay ignored across exec: put back the ones the agent ignores (one
  // call each, not 64: every system call counts under TCG).
  for (int s : kAgentIgnoredSignals) signal(s, SIG_DFL);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) _exit(127);
  auto exe = setup_child(p, ctty);
  if (!exe) {
    write_all(status_w, "E" + exe.error().text());
    _exit(127);
  }
  write_all(status_w, "R");
  char b;
  ssize_t n;
  do {
    n = ::read(go_r, &b, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(137);  // the agent went away: never run
  std::vector<std::string> env = final_env(p);
  std::vector<char*> argv, envp;
  for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(exe->c_str(), argv.data(), envp.data());
  write_all(status_w, "X" + sys_error(errno, "exec {}", *exe).text());
  _exit(127);
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(p[0]), UniqueFd(p[1]));
}

std::string read_all(int fd) {
  std::string s;
  char buf[512];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
    if (s.size() == 1 && s[0] == 'R') break;  // ready: the rest comes after start
  }
  return s;
}

}  // namespace

Result<Child> spawn_process(const proto::GuestProcess& p) {
  Child c;
  c.terminal = p.terminal;
  UniqueFd in_r, out_w, err_w, slave;
  if (p.terminal) {
    int master = -1, sl = -1;
    winsize ws{static_cast<unsigned short>(p.rows), static_cast<unsigned short>(p.cols), 0, 0};
    if (::openpty(&master, &sl, nullptr, nullptr, p.rows ? &ws : nullptr) != 0)
      return fail(sys_error(errno, "openpty"));
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(sl, F_SETFD, FD_CLOEXEC);
    c.stdout_r.reset(master);
    c.stdin_w.reset(::fcntl(master, F_DUPFD_CLOEXEC, 3));
    slave.reset(sl);
  } else {
    auto [ir, iw] = BERTH_TRY(make_pipe());
    auto [or_, ow] = BERTH_TRY(make_pipe());
    auto [er, ew] = BERTH_TRY(make_pipe());
    in_r = std::move(ir);
    c.stdin_w = std::move(iw);
    c.stdout_r = std::move(or_);
    out_w = std::move(ow);
    c.stderr_r = std::move(er);
    err_w = std::move(ew);
  }
  auto [go_r, go_w] = BERTH_TRY(make_pipe());
  auto [st_r, st_w] = BERTH_TRY(make_pipe());
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork"));
  if (pid == 0) {
    if (p.terminal)
      child_main(p, slave.get(), slave.get(), slave.get(), slave.get(), go_r.get(), st_w.get());
    child_main(p, in_r.get(), out_w.get(), err_w.get(), -1, go_r.get(), st_w.get());
  }
  c.pid = pid;
  c.go_w = std::move(go_w);
  c.status_r = std::move(st_r);
  st_w.reset();
  std::string s = read_all(c.status_r.get());
  if (s != "R") {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (!s.empty() && s[0] == 'E')
      return fail(make_error(ErrorKind::kInvalidArgument, "{}", s.substr(1)));
    return fail(make_error(ErrorKind::kInternal, "the process exited during setup"));
  }
  for (int fd : {c.stdin_w.get(), c.stdout_r.get(), c.stderr_r.get()})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return c;
}

Result<void> start_process(Child& c) {
  if (::write(c.go_w.get(), "g", 1) != 1) return fail(sys_error(errno, "start the process"));
  c.go_w.reset();
  std::string s = read_all(c.status_r.get());
  c.status_r.reset();
  if (!s.empty() && s[0] == 'X') return fail(make_error(ErrorKind::kNotFound, "{}", s.substr(1)));
  return {};
}

}  // namespace berth::vm::agent
