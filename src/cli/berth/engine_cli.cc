#include "cli/berth/engine_cli.h"

#include <time.h>

namespace berth::cli {

Result<std::unique_ptr<engine::Engine>> open_engine(const BerthGlobals& g) {
  engine::Paths p;
  p.root = g.root;
  p.state = g.state;
  return engine::Engine::open(p);
}

std::string human_duration(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s < 60) return fmt::format("{} second{}", s, s == 1 ? "" : "s");
  if (s < 3600) return fmt::format("{} minute{}", s / 60, s / 60 == 1 ? "" : "s");
  if (s < 86400) return fmt::format("{} hour{}", s / 3600, s / 3600 == 1 ? "" : "s");
  return fmt::format("{} day{}", s / 86400, s / 86400 == 1 ? "" : "s");
}

std::string status_text(const engine::Container& c) {
  int64_t now = time(nullptr);
  const auto& s = c.status;
  if (s.state == "running" || s.state == "paused") {
    std::string t = "Up " + human_duration(now - s.started_at / 1000000000);
    if (s.state == "paused") t += " (Paused)";
    if (!s.health.empty()) t += " (" + s.health + ")";
    return t;
  }
  if (s.state == "restarting")
    return fmt::format("Restarting ({}) {} ago", s.exit_code,
                       human_duration(now - s.finished_at / 1000000000));
  if (s.state == "exited")
    return fmt::format("Exited ({}) {} ago", s.exit_code,
                       human_duration(now - s.finished_at / 1000000000));
  return "Created";
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

std::string human_size(int64_t b) {
  double v = static_cast<double>(b);
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", b) : fmt::format("{:.1f}{}", v, units[u]);
}

}  // namespace berth::cli
