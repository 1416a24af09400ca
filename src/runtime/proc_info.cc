#include "runtime/proc_info.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "base/strings.h"

namespace berth::runtime {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<size_t>(n));
  // "pid (comm) state ..." where comm may hold spaces and parentheses: skip to the last ')'.
  size_t rp = s.rfind(')');
  if (rp == std::string_view::npos || rp + 2 >= s.size()) return std::nullopt;
  std::vector<std::string> f = split(s.substr(rp + 2), ' ');
  // f[0] is field 3 (state); field 22 (starttime) is f[19].
  if (f.size() < 20 || f[0].empty()) return std::nullopt;
  ProcStat st;
  st.state = f[0][0];
  st.start_time = parse_uint(f[19]).value_or(0);
  return st;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') return false;
  return start_time == 0 || st->start_time == start_time;
}

}  // namespace berth::runtime
