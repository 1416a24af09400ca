// A QMP client (QEMU Machine Protocol: JSON objects, one per line) over a connected socket.
// QEMU is a separate, less trusted process: replies are parsed defensively.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::vm {

struct QmpMessage {
  enum class Kind { kGreeting, kReturn, kError, kEvent };
  Kind kind = Kind::kEvent;
  nlohmann::json body;  // "return" value, or an event's "data"
  std::string name;     // an event's name, or an error's class
  std::string desc;     // an error's description
};

// Parses one line of QMP output.
Result<QmpMessage> parse_qmp_line(std::string_view line);

class QmpClient {
 public:
  QmpClient() = default;
  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  bool connected() const { return fd_.valid() && ready_; }

  // Reads the greeting and enters command mode (qmp_capabilities).
  Result<void> handshake(int timeout_ms);
  // Runs a command and returns its "return" value; events read meanwhile are dropped.
  Result<nlohmann::json> execute(std::string_view command, const nlohmann::json& args,
                                 int timeout_ms);
  // "running", "paused", "shutdown" ...
  Result<std::string> query_status(int timeout_ms = 2000);
  Result<void> quit(int timeout_ms = 2000);
  Result<void> system_powerdown(int timeout_ms = 2000);
  // Events that arrived (reads what is available without blocking).
  Result<std::vector<QmpMessage>> read_events();

 private:
  Result<std::string> read_line(int timeout_ms);
  UniqueFd fd_;
  std::string buf_;
  bool ready_ = false;
};

}  // namespace berth::vm
