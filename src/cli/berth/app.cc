#include "cli/berth/app.h"

#include <cstdio>
#include <vector>

#include "base/log.h"

namespace berth::cli {
namespace {

struct Registered {
  const char* area;
  VerbAdder add;
};

std::vector<Registered>& registry() {
  static std::vector<Registered> r;
  return r;
}

BerthAction* chosen = nullptr;

}  // namespace

BerthVerbs::BerthVerbs(const char* area, VerbAdder add) { registry().push_back({area, add}); }

void on_berth_run(CLI::App* sub, BerthAction action) {
  auto* a = new BerthAction(std::move(action));  // lives as long as the process
  sub->callback([a] { chosen = a; });
}

int run_berth_cli(int argc, char** argv) {
  log::set_program("berth");
  BerthGlobals g;
  CLI::App app{"berth: run containers and light VMs from OCI images", "berth"};
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--root", g.root, "where images, containers and volumes are stored")
      ->capture_default_str();
  app.add_option("--state", g.state, "runtime state directory (on tmpfs)")->capture_default_str();
  app.add_option("--config", g.config, "config file (default: <root>/config.json)");
  app.add_flag("--debug", g.debug, "log debug messages");
  for (const auto& r : registry()) r.add(app, g);
  // Repeatable options (-e, -v, -p ...) take one value per use, never the words after it.
  std::function<void(CLI::App*)> one_value = [&](CLI::App* a) {
    for (CLI::Option* o : a->get_options())
      if (!o->get_positional()) o->allow_extra_args(false);
    for (CLI::App* s : a->get_subcommands({})) one_value(s);
  };
  one_value(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fprintf(stderr, "berth: %s\n", e.what());
    return 125;
  }
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
