#include "vm/control.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/path.h"

namespace berth::vm::control {

Result<UniqueFd> connect(const std::string& socket_path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::string addr = socket_path;
  UniqueFd dir;
  if (addr.size() >= sizeof sa.sun_path) {
    // Too long for an address (a long --state): reach it through its directory's fd.
    dir.reset(::open(path::dirname(socket_path).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return fail(sys_error(errno, "open {}", path::dirname(socket_path)));
    addr = fmt::format("/proc/self/fd/{}/{}", dir.get(), path::basename(socket_path));
    if (addr.size() >= sizeof sa.sun_path)
      return fail(invalid("socket path {} is too long", socket_path));
  }
  memcpy(sa.sun_path, addr.c_str(), addr.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(sys_error(errno, "socket"));
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno == EINTR) continue;
    return fail(sys_error(errno, "connect {}", socket_path));
  }
  return fd;
}

Result<void> send_line(int fd, const std::string& line) {
  std::string s = line + "\n";
  std::string_view rest = s;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error(errno, "send to the VM monitor"));
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> read_line(int fd, int timeout_ms) {
  std::string line;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (true) {
    int wait = -1;
    if (timeout_ms >= 0) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      wait = static_cast<int>(std::max<long>(0, timeout_ms - spent));
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(sys_error(errno, "poll the VM monitor"));
    if (r == 0) return fail(make_error(ErrorKind::kUnavailable, "the VM monitor does not answer"));
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error(errno, "read from the VM monitor"));
    if (n == 0)
      return fail(make_error(ErrorKind::kNotFound, "the VM monitor closed the connection"));
    if (c == '\n') return line;
    if (line.size() > 65536) return fail(invalid("VM monitor: reply too long"));
    line.push_back(c);
  }
}

Result<std::string> request(const std::string& socket_path, const std::string& line,
                            int timeout_ms) {
  UniqueFd fd = BERTH_TRY(connect(socket_path));
  BERTH_CHECK(send_line(fd.get(), line));
  return read_line(fd.get(), timeout_ms);
}

Result<void> send_fd(int sock, int fd) {
  char data[] = "pty";
  iovec iov{data, 3};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return fail(sys_error(errno, "send the terminal to the console socket"));
  }
  return {};
}

}  // namespace berth::vm::control
