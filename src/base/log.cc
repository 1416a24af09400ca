#include "base/log.h"

#include <time.h>
#include <unistd.h>

#include <string>

#include "base/clock.h"
#include "base/strings.h"

namespace berth::log {
namespace {

struct Sink {
  int fd = 2;
  Format format = Format::kText;
  Level min_level = Level::kWarn;
  std::string program = "berth";
};

Sink& sink() {
  static Sink s;
  return s;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "error";
}

}  // namespace

void configure(int fd, Format format, Level min_level) {
  sink().fd = fd;
  sink().format = format;
  sink().min_level = min_level;
}

void set_program(std::string_view name) { sink().program = std::string(name); }

bool enabled(Level level) { return level >= sink().min_level; }

void write(Level level, std::string_view msg) {
  const Sink& s = sink();
  std::string line;
  if (s.format == Format::kJson) {
    line = fmt::format("{{\"level\":\"{}\",\"msg\":{},\"time\":\"{}\"}}\n", level_name(level),
                       json_quote(msg), clock::now_rfc3339_nano());
  } else if (s.fd == 2) {
    line = fmt::format("{}: {}{}\n", s.program, level == Level::kError ? "" : level_name(level),
                       level == Level::kError ? msg : fmt::format(": {}", msg));
  } else {
    line = fmt::format("time=\"{}\" level={} msg={}\n", clock::now_rfc3339_nano(),
                       level_name(level), json_quote(msg));
  }
  // One write per line keeps lines whole when several processes share the file.
  ssize_t ignored = ::write(s.fd, line.data(), line.size());
  (void)ignored;
}

}  // namespace berth::log
