// The agent's first steps as pid 1: kernel file systems, modules, the control port.
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/strings.h"
#include "vm/agent/agent.h"

namespace berth::vm::agent {

void say(const std::string& msg) {
  std::string line = "berth-agent: " + msg + "\n";
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

void early_mounts() {
  for (const char* d : {"/dev", "/proc", "/sys"}) ::mkdir(d, 0755);
  if (::mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, nullptr) != 0 && errno != EBUSY)
    say("mount /dev: " + std::string(strerror(errno)));
  ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  ::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}

std::string cmdline_value(std::string_view key) {
  auto text = file::read("/proc/cmdline");
  if (!text) return {};
  for (const auto& word : split(trim(*text), ' ')) {
    if (word.size() > key.size() && word.compare(0, key.size(), key) == 0 &&
        word[key.size()] == '=')
      return word.substr(key.size() + 1);
  }
  return {};
}

Result<void> load_modules(const std::vector<std::string>& names, std::string* times) {
  for (const auto& n : names) {
    int64_t t = uptime_ms();
    std::string p = "/lib/modules/" + n + ".ko";
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error(errno, "open {}", p));
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST)
      return fail(sys_error(errno, "load module {}", n));
    if (times) *times += fmt::format("{}{} {}", times->empty() ? "" : ", ", n, uptime_ms() - t);
  }
  return {};
}

namespace {

void sleep_ms(int ms) {
  timespec ts{0, ms * 1000L * 1000L};
  nanosleep(&ts, nullptr);
}

// The /dev name of the virtio port called `name`, or "".
std::string find_port(std::string_view name) {
  DIR* d = opendir("/sys/class/virtio-ports");
  if (!d) return {};
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto n = file::read(std::string("/sys/class/virtio-ports/") + e->d_name + "/name");
    if (n && trim(*n) == name) {
      found = e->d_name;
      break;
    }
  }
  closedir(d);
  return found;
}

}  // namespace

Result<UniqueFd> open_port(std::string_view name, int timeout_ms) {
  // The port shows up some time after virtio_console loads (the device is probed
  // asynchronously), and its /dev node after that: wait for both.
  for (int waited = 0;; waited += 2) {
    std::string dev = find_port(name);
    if (!dev.empty()) {
      std::string p = "/dev/" + dev;
      int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
      if (fd >= 0) return UniqueFd(fd);
      if (errno != ENOENT || waited > timeout_ms) return fail(sys_error(errno, "open {}", p));
    }
    if (waited > timeout_ms)
      return fail(make_error(ErrorKind::kNotFound, "no virtio port {:?}", name));
    sleep_ms(2);
  }
}

int64_t uptime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main() {
  int64_t t_init = uptime_ms();
  early_mounts();
  std::vector<std::string> mods = split(cmdline_value("berth.modules"), ',');
  std::erase(mods, std::string());
  std::string mod_times;
  if (auto r = load_modules(mods, &mod_times); !r) say(r.error().text());
  int64_t t_mods = uptime_ms();
  auto port = open_port(proto::kPortName, 30000);
  if (!port) {
    say(port.error().text());
  } else {
    // For the host's log: where the boot time went.
    std::string timing = fmt::format(
        "boot: /init at {} ms, {} modules loaded at {} ms, port open at {} ms (ms per module: {})",
        t_init, mods.size(), t_mods, uptime_ms(), mod_times);
    run_session(port->get(), timing);
  }
  ::sync();
  ::reboot(RB_POWER_OFF);
  return 0;
}

}  // namespace berth::vm::agent
