#include "runtime/console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace berth::runtime {

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(invalid("socket path {} is too long", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail(sys_error(errno, "socket"));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(sys_error(errno, "connect to {}", path));
  return fd;
}

Result<void> send_fd(int sock, int fd, std::string_view payload) {
  msghdr msg{};
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))]{};
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return fail(sys_error(errno, "send fd"));
  }
  return {};
}

Result<UniqueFd> recv_fd(int sock) {
  msghdr msg{};
  char data[256];
  iovec iov{data, sizeof data};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))]{};
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(sys_error(errno, "receive fd"));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS)
    return fail(make_error(ErrorKind::kInternal, "no fd in the console socket message"));
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

Result<void> setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return fail(sys_error(errno, "process.terminal: open /dev/ptmx"));
  if (::unlockpt(master.get()) != 0) return fail(sys_error(errno, "process.terminal: unlockpt"));
  char name[64];
  if (::ptsname_r(master.get(), name, sizeof name) != 0)
    return fail(sys_error(errno, "process.terminal: ptsname"));
  if (size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(master.get(), TIOCSWINSZ, &ws) != 0)
      return fail(sys_error(errno, "process.consoleSize"));
  }
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return fail(sys_error(errno, "process.terminal: open {}", name));
  // /dev/console is the container's terminal too.
  UniqueFd c(::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (c) {
    c.reset();
    (void)::mount(name, "/dev/console", nullptr, MS_BIND, nullptr);
  }
  BERTH_CHECK(send_fd(console_sock, master.get()));
  master.reset();
  if (::setsid() < 0) return fail(sys_error(errno, "setsid"));
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return fail(sys_error(errno, "TIOCSCTTY"));
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return fail(sys_error(errno, "dup2 pty"));
  return {};
}

namespace {

volatile sig_atomic_t g_winch = 0;
void on_winch(int) { g_winch = 1; }

void copy_size(int from, int to) {
  winsize ws{};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

}  // namespace

void relay_console(int master) {
  bool tty = ::isatty(0);
  termios saved{};
  if (tty && ::tcgetattr(0, &saved) == 0) {
    termios raw = saved;
    ::cfmakeraw(&raw);
    ::tcsetattr(0, TCSANOW, &raw);
    copy_size(0, master);
    struct sigaction sa {};
    sa.sa_handler = on_winch;
    ::sigaction(SIGWINCH, &sa, nullptr);
  }
  pollfd fds[2] = {{0, POLLIN, 0}, {master, POLLIN, 0}};
  char buf[16384];
  while (true) {
    if (g_winch) {
      g_winch = 0;
      copy_size(0, master);
    }
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) {
      ssize_t r = ::read(master, buf, sizeof buf);
      if (r <= 0) break;
      if (!write_all(1, buf, static_cast<size_t>(r))) break;
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      break;
    }
    if (fds[0].revents & POLLIN) {
      ssize_t r = ::read(0, buf, sizeof buf);
      if (r <= 0) {
        fds[0].fd = -1;  // stdin closed: keep relaying output
      } else {
        write_all(master, buf, static_cast<size_t>(r));
      }
    } else if (fds[0].revents & (POLLHUP | POLLERR)) {
      fds[0].fd = -1;
    }
  }
  if (tty) ::tcsetattr(0, TCSANOW, &saved);
}

bool write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace berth::runtime
