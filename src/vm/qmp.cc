#include "vm/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace berth::vm {
namespace {

constexpr size_t kMaxLine = 1 << 20;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<QmpMessage> parse_qmp_line(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(invalid("QMP: not a JSON object"));
  QmpMessage m;
  if (j.contains("QMP")) {
    m.kind = QmpMessage::Kind::kGreeting;
    m.body = j["QMP"];
  } else if (j.contains("return")) {
    m.kind = QmpMessage::Kind::kReturn;
    m.body = j["return"];
  } else if (j.contains("error")) {
    m.kind = QmpMessage::Kind::kError;
    const auto& e = j["error"];
    if (!e.is_object()) return fail(invalid("QMP: error is not an object"));
    if (e.contains("class") && e["class"].is_string()) m.name = e["class"].get<std::string>();
    if (e.contains("desc") && e["desc"].is_string()) m.desc = e["desc"].get<std::string>();
  } else if (j.contains("event")) {
    m.kind = QmpMessage::Kind::kEvent;
    if (!j["event"].is_string()) return fail(invalid("QMP: event name is not a string"));
    m.name = j["event"].get<std::string>();
    if (j.contains("data")) m.body = j["data"];
  } else {
    return fail(invalid("QMP: unknown message"));
  }
  return m;
}

Result<std::string> QmpClient::read_line(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    if (auto nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (buf_.size() > kMaxLine) return fail(invalid("QMP: line over {} bytes", kMaxLine));
    int left = static_cast<int>(deadline - now_ms());
    if (timeout_ms >= 0 && left <= 0)
      return fail(make_error(ErrorKind::kUnavailable, "QMP: no answer from QEMU"));
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms < 0 ? -1 : left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(sys_error(errno, "QMP: poll"));
    if (r == 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return fail(sys_error(errno, "QMP: read"));
    if (n == 0) return fail(make_error(ErrorKind::kUnavailable, "QMP: QEMU closed the monitor"));
    buf_.append(buf, static_cast<size_t>(n));
  }
}

Result<void> QmpClient::handshake(int timeout_ms) {
  std::string line = BERTH_TRY(read_line(timeout_ms));
  QmpMessage m = BERTH_TRY(parse_qmp_line(line));
  if (m.kind != QmpMessage::Kind::kGreeting) return fail(invalid("QMP: no greeting"));
  ready_ = true;
  BERTH_CHECK(execute("qmp_capabilities", nullptr, timeout_ms));
  return {};
}

Result<nlohmann::json> QmpClient::execute(std::string_view command, const nlohmann::json& args,
                                          int timeout_ms) {
  if (!fd_) return fail(make_error(ErrorKind::kFailedPrecondition, "QMP: not connected"));
  nlohmann::json req = {{"execute", command}};
  if (!args.is_null()) req["arguments"] = args;
  std::string text = req.dump() + "\n";
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_.get(), POLLOUT, 0};
      ::poll(&p, 1, timeout_ms);
      continue;
    }
    if (n < 0) return fail(sys_error(errno, "QMP: send {}", command));
    rest.remove_prefix(static_cast<size_t>(n));
  }
  int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    int left = std::max<int>(0, static_cast<int>(deadline - now_ms()));
    std::string line = BERTH_TRY(read_line(left));
    auto m = parse_qmp_line(line);
    if (!m) continue;
    if (m->kind == QmpMessage::Kind::kReturn) return m->body;
    if (m->kind == QmpMessage::Kind::kError)
      return fail(make_error(ErrorKind::kInternal, "QMP {}: {} ({})", command, m->desc, m->name));
  }
}

Result<std::string> QmpClient::query_status(int timeout_ms) {
  nlohmann::json r = BERTH_TRY(execute("query-status", nullptr, timeout_ms));
  if (!r.is_object() || !r.contains("status") || !r["status"].is_string())
    return fail(invalid("QMP query-status: no status in the answer"));
  return r["status"].get<std::string>();
}

Result<void> QmpClient::quit(int timeout_ms) {
  auto r = execute("quit", nullptr, timeout_ms);
  // QEMU may close the socket before its answer arrives.
  if (!r && r.error().kind() != ErrorKind::kUnavailable) return fail(std::move(r.error()));
  return {};
}

Result<void> QmpClient::system_powerdown(int timeout_ms) {
  BERTH_CHECK(execute("system_powerdown", nullptr, timeout_ms));
  return {};
}

Result<std::vector<QmpMessage>> QmpClient::read_events() {
  std::vector<QmpMessage> out;
  while (true) {
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      buf_.append(buf, static_cast<size_t>(n));
      if (buf_.size() > kMaxLine) return fail(invalid("QMP: line over {} bytes", kMaxLine));
      continue;
    }
    if (n == 0) return fail(make_error(ErrorKind::kUnavailable, "QMP: QEMU closed the monitor"));
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    return fail(sys_error(errno, "QMP: read"));
  }
  size_t nl;
  while ((nl = buf_.find('\n')) != std::string::npos) {
    std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    if (auto m = parse_qmp_line(line); m && m->kind == QmpMessage::Kind::kEvent)
      out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace berth::vm
