#include "support/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/file.h"
#include "oci/spec.h"

namespace berth::test {

namespace {

// This machine's pid 1 does not reap orphans; be the subreaper of everything tests start.
[[maybe_unused]] const bool kSubreaper = [] {
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  return true;
}();

}  // namespace

void reap_orphans() {
  // run() waits for its own children before returning, so any zombie child now is an orphan.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

CmdResult run(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    fprintf(stderr, "exec %s: %s\n", av[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // The input is fed from the loop below while the output is read, as a shell pipeline
  // would: writing it all first deadlocks with a child that echoes more than a pipe holds
  // before it has read everything. A child that stops reading ends the input (EPIPE, not
  // SIGPIPE: this process ignores it).
  signal(SIGPIPE, SIG_IGN);
  size_t fed = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  CmdResult r;
  pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
  time_t deadline = time(nullptr) + timeout_s;
  int open_fds = 2;
  bool killed = false, child_done = false;
  int status = 0;
  // Reaps orphans (detached containers re-parented to this subreaper) while waiting: a
  // zombie in a container's cgroup would keep `delete` from removing it.
  auto reap = [&] {
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w == pid) {
        status = st;
        child_done = true;
      }
    }
  };
  while (open_fds > 0) {
    reap();
    if (time(nullptr) >= deadline && !killed) {
      kill(pid, SIGKILL);
      killed = true;
    }
    fds[2].fd = in_fd;
    int n = poll(fds, 3, 50);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t k = write(in_fd, input.data() + fed, input.size() - fed);
      if (k > 0) fed += static_cast<size_t>(k);
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || fed == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if (n <= 0) {
      if (killed && time(nullptr) > deadline + 2) break;
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(k));
      }
    }
  }
  for (int i = 0; i < 2; ++i)
    if (fds[i].fd >= 0) close(fds[i].fd);
  if (in_fd >= 0) close(in_fd);
  while (!child_done) {
    pid_t w = waitpid(pid, &status, 0);
    if (w == pid || (w < 0 && errno != EINTR)) break;
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (killed) r.err += "\n[test harness: killed after timeout]";
  return r;
}

CmdResult sh(const std::string& command, int timeout_s) {
  return run({"bash", "-c", command}, "", timeout_s);
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (!mkdtemp(buf.data())) abort();
  path_ = buf.data();
  // Reachable by the root of a user namespace (an unmapped host uid), as bundles usually are.
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  // Anything still mounted below (a test that failed half way) goes first.
  for (int i = 0; i < 3; ++i) {
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    std::vector<std::string> mps;
    while (std::getline(mi, line)) {
      std::istringstream ss(line);
      std::string a, b, c, d, mp;
      ss >> a >> b >> c >> d >> mp;
      if (mp.rfind(path_, 0) == 0) mps.push_back(mp);
    }
    if (mps.empty()) break;
    for (auto it = mps.rbegin(); it != mps.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  }
  (void)file::remove_all(path_);
}

void make_rootfs(const std::string& dir) {
  for (const char* d : {"bin", "proc", "sys", "dev", "etc", "tmp", "root", "home/user", "data"})
    (void)file::mkdir_all(dir + "/" + d);
  CmdResult r = run({"cp", "/bin/busybox", dir + "/bin/busybox"});
  if (r.exit_code != 0) abort();
  r = run({"cp", BERTH_PROBE_BIN, dir + "/probe"});
  if (r.exit_code != 0) abort();
  // One symlink per applet, made here rather than by 300 ln processes.
  r = run({dir + "/bin/busybox", "--list"});
  std::istringstream applets(r.out);
  std::string a;
  while (std::getline(applets, a))
    if (!a.empty() && a != "busybox") symlink("busybox", (dir + "/bin/" + a).c_str());
  std::ofstream(dir + "/etc/passwd")
      << "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n";
  std::ofstream(dir + "/etc/group") << "root:x:0:\ntty:x:5:\nuser:x:1000:\n";
  chmod((dir + "/tmp").c_str(), 01777);
}

const std::string& shared_rootfs() {
  static TempDir dir("berth-test-rootfs");
  static std::once_flag once;
  std::call_once(once, [] { make_rootfs(dir.path() + "/rootfs"); });
  static std::string p = dir.path() + "/rootfs";
  return p;
}

Bundle::Bundle() {
  config_ = oci::default_spec(false);
  config_["process"]["terminal"] = false;
  config_["root"]["path"] = shared_rootfs();
  config_["root"]["readonly"] = true;
  config_["hostname"] = "berth-test";
}

void Bundle::set_args(const std::vector<std::string>& args) { config_["process"]["args"] = args; }

void Bundle::private_rootfs() {
  make_rootfs(dir() + "/rootfs");
  config_["root"]["path"] = "rootfs";
  config_["root"]["readonly"] = false;
}

void Bundle::write() const { std::ofstream(dir() + "/config.json") << config_.dump(2); }

Runtime::Runtime() : root_("berth-test-root") {}

Runtime::~Runtime() {
  for (const auto& id : ids_) run({BERTH_RUNTIME_BIN, "--root", root(), "delete", "--force", id});
}

std::string Runtime::new_id() {
  static std::atomic<int> counter{0};
  std::string id = "bt-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  ids_.push_back(id);
  return id;
}

CmdResult Runtime::operator()(const std::vector<std::string>& args, const std::string& input,
                              int timeout_s) {
  std::vector<std::string> argv = {BERTH_RUNTIME_BIN, "--root", root()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input, timeout_s);
}

CmdResult Runtime::run_bundle(Bundle& b, const std::vector<std::string>& extra) {
  b.write();
  std::string id = new_id();
  std::vector<std::string> args = {"run", "--bundle", b.dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return (*this)(args);
}

std::string read_file(const std::string& path) {
  auto r = file::read(path);
  return r ? *r : std::string();
}

bool file_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

namespace {

void find_dirs(const std::string& dir, const std::string& needle, int depth,
               std::vector<std::string>& out) {
  if (depth < 0) return;
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    std::string p = dir + "/" + e->d_name;
    if (p.find(needle) != std::string::npos) out.push_back("cgroup " + p);
    find_dirs(p, needle, depth - 1, out);
  }
  closedir(d);
}

}  // namespace

std::vector<std::string> leaks(const std::string& needle) {
  std::vector<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line))
    if (line.find(needle) != std::string::npos) out.push_back("mount " + line);
  find_dirs("/sys/fs/cgroup", needle, 5, out);
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cg = read_file(std::string("/proc/") + e->d_name + "/cgroup");
    if (cg.find(needle) != std::string::npos)
      out.push_back(std::string("process ") + e->d_name + " in cgroup " + needle);
  }
  closedir(d);
  return out;
}

}  // namespace berth::test
