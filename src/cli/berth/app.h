// berth's command line: docker/podman-style verbs. Each area registers its verbs from its
// own file in this folder with a static BerthVerbs object (the files are compiled into the
// berth binary itself, so the registrations are never dropped by the linker).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::cli {

struct BerthGlobals {
  std::string root = "/var/lib/berth";  // images, containers, volumes, the database
  std::string state = "/run/berth";     // runtime state (tmpfs)
  std::string config;                   // config file (registries ...); default <root>/config.json
  bool debug = false;
  // The command line as given: run and create check where the image stood in it.
  std::vector<std::string> argv;
};

// A verb's action: an exit code, or an error (printed as one line, exit 125).
using BerthAction = std::function<Result<int>()>;
void on_berth_run(CLI::App* sub, BerthAction action);

// An area names the top-level verbs its adder makes: a command line whose verb one area
// names builds only that area's part of the CLI tree (building all ~40 verbs with their
// options, and freeing them at exit, cost every command ~2 ms). A verb no area names, no
// verb, or a wrong list (test EngineCli.EveryVerbHasHelp) falls back to all areas.
using VerbAdder = void (*)(CLI::App& app, BerthGlobals& g);
struct BerthVerbs {
  BerthVerbs(const char* area, std::initializer_list<const char*> verbs, VerbAdder add);
};

int run_berth_cli(int argc, char** argv);

}  // namespace berth::cli
