#include "runtime/sync.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace berth::runtime::sync {
namespace {

struct Header {
  uint32_t type;
  uint32_t text_len;
  int64_t value;
};

constexpr size_t kMaxText = 8192;

}  // namespace

Result<void> send(int fd, Type type, int64_t value, std::string_view text, int pass_fd) {
  if (text.size() > kMaxText) text = text.substr(0, kMaxText);
  char buf[sizeof(Header) + kMaxText];
  Header h{static_cast<uint32_t>(type), static_cast<uint32_t>(text.size()), value};
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + sizeof h, text.data(), text.size());
  iovec iov{buf, sizeof h + text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  if (pass_fd >= 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
  }
  while (true) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return {};
    if (errno != EINTR) return fail(sys_error(errno, "sync send"));
  }
}

Result<Message> recv(int fd) {
  char buf[sizeof(Header) + kMaxText];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  UniqueFd passed;
  if (n > 0) {
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int pfd;
      std::memcpy(&pfd, CMSG_DATA(c), sizeof pfd);
      passed.reset(pfd);
    }
  }
  if (n < 0) return fail(sys_error(errno, "sync receive"));
  if (n == 0) return fail(Error(ErrorKind::kNotFound, "the container process exited"));
  if (static_cast<size_t>(n) < sizeof(Header))
    return fail(Error(ErrorKind::kInternal, "sync: short message"));
  Header h;
  std::memcpy(&h, buf, sizeof h);
  if (sizeof h + h.text_len > static_cast<size_t>(n))
    return fail(Error(ErrorKind::kInternal, "sync: bad message length"));
  return Message{static_cast<Type>(h.type), h.value, std::string(buf + sizeof h, h.text_len),
                 std::move(passed)};
}

int64_t error_value(const Error& e) {
  return (static_cast<int64_t>(e.kind()) << 16) | (e.sys_errno() & 0xffff);
}

Error error_from(const Message& m) {
  int err = static_cast<int>(m.value & 0xffff);
  auto kind = static_cast<ErrorKind>(m.value >> 16);
  if (kind < ErrorKind::kInternal || kind > ErrorKind::kSystem) kind = ErrorKind::kInternal;
  return Error(kind, m.text, err);
}

Result<Message> expect(int fd, Type type) {
  Message m = BERTH_TRY(recv(fd));
  if (m.type == Type::kError) return fail(error_from(m));
  if (m.type != type)
    return fail(make_error(ErrorKind::kInternal, "sync: expected message {}, got {}",
                           static_cast<uint32_t>(type), static_cast<uint32_t>(m.type)));
  return m;
}

}  // namespace berth::runtime::sync
