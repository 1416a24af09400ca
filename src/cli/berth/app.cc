#include "cli/berth/app.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "cli/parse.h"

namespace berth::cli {
namespace {

struct Registered {
  const char* area;
  std::vector<std::string_view> verbs;
  VerbAdder add;
};

std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}

BerthAction* chosen = nullptr;

}  // namespace

BerthVerbs::BerthVerbs(const char* area, std::initializer_list<const char*> verbs, VerbAdder add) {
  registry().push_back({area, {verbs.begin(), verbs.end()}, add});
}

namespace {

// The verb of a command line: its first word that is not a global option or its value.
std::string_view find_verb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--root" || a == "--state" || a == "--config") {
      ++i;
      continue;
    }
    if (a.starts_with("-")) continue;
    return a;
  }
  return {};
}

}  // namespace

void on_berth_run(CLI::App* sub, BerthAction action) {
  auto* a = new BerthAction(std::move(action));  // lives as long as the process
  sub->callback([a] { chosen = a; });
}

int run_berth_cli(int argc, char** argv) {
  log::set_program("berth");
  BerthGlobals g;
  g.argv.assign(argv, argv + argc);
  CLI::App app{"berth: run containers and light VMs from OCI images", "berth"};
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--root", g.root, "where images, containers and volumes are stored")
      ->capture_default_str();
  app.add_option("--state", g.state, "runtime state directory (on tmpfs)")->capture_default_str();
  app.add_option("--config", g.config, "config file (default: <root>/config.json)");
  app.add_flag("--debug", g.debug, "log debug messages");
  std::string_view verb = find_verb(argc, argv);
  auto names = [&](const Registered& r) {
    return std::find(r.verbs.begin(), r.verbs.end(), verb) != r.verbs.end();
  };
  bool known = std::any_of(registry().begin(), registry().end(), names);
  for (const auto& r : registry())
    if (!known || names(r)) r.add(app, g);
  if (auto done = parse_command_line(app, argc, argv, "berth", 125)) return *done;
  log::configure(2, log::Format::kText, g.debug ? log::Level::kDebug : log::Level::kWarn);
  if (!chosen) return 125;
  Result<int> r = (*chosen)();
  if (!r) {
    fprintf(stderr, "berth: %s\n", r.error().text().c_str());
    return 125;
  }
  return *r;
}

}  // namespace berth::cli
