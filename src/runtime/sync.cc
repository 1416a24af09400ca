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

Result<void> send(int fd, Type type, int64_t value, std::string_view text) {
  if (text.size() > kMaxText) text = text.substr(0, kMaxText);
  char buf[sizeof(Header) + kMaxText];
  Header h{static_cast<uint32_t>(type), static_cast<uint32_t>(text.size()), value};
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + sizeof h, text.data(), text.size());
  while (true) {
    ssize_t n = ::send(fd, buf, sizeof h + text.size(), MSG_NOSIGNAL);
    if (n >= 0) return {};
    if (errno != EINTR) return fail(sys_error(errno, "sync send"));
  }
}

Result<Message> recv(int fd) {
  char buf[sizeof(Header) + kMaxText];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(sys_error(errno, "sync receive"));
  if (n == 0) return fail(Error(ErrorKind::kNotFound, "the container process exited"));
  if (static_cast<size_t>(n) < sizeof(Header))
    return fail(Error(ErrorKind::kInternal, "sync: short message"));
  Header h;
  std::memcpy(&h, buf, sizeof h);
  if (sizeof h + h.text_len > static_cast<size_t>(n))
    return fail(Error(ErrorKind::kInternal, "sync: bad message length"));
  return Message{static_cast<Type>(h.type), h.value, std::string(buf + sizeof h, h.text_len)};
}

Result<Message> expect(int fd, Type type) {
  Message m = BERTH_TRY(recv(fd));
  if (m.type == Type::kError) {
    int err = static_cast<int>(m.value);
    return fail(Error(err ? ErrorKind::kSystem : ErrorKind::kInvalidArgument, m.text, err));
  }
  if (m.type != type)
    return fail(make_error(ErrorKind::kInternal, "sync: expected message {}, got {}",
                           static_cast<uint32_t>(type), static_cast<uint32_t>(m.type)));
  return m;
}

}  // namespace berth::runtime::sync
