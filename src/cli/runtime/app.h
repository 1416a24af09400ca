// berth-runtime's command line: runc's verbs and flags (podman and containerd call it as
// they call runc). app.cc builds the parser and maps errors to one line and an exit code;
// each verb file registers its subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "runtime/container.h"

namespace berth::cli {

struct RuntimeGlobals {
  std::string root = "/run/berth-runtime";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless = "auto";
};

// What a verb needs: the global flags and the handler for a container.
class RuntimeContext {
 public:
  RuntimeGlobals g;
  runtime::Store store() const { return runtime::Store(g.root); }
  // The handler that owns an existing container (from its state), or the container handler.
  Result<std::unique_ptr<runtime::Handler>> handler_for(std::string_view id) const;
  // The handler a new container asks for (config.json annotation "run.oci.berth.isolation").
  Result<std::unique_ptr<runtime::Handler>> handler_for_spec(const oci::Spec& spec) const;
};

// A verb's action returns an exit code or an error.
using VerbAction = std::function<Result<int>()>;
// Registers action to run when sub is the chosen subcommand.
void on_run(CLI::App* sub, VerbAction action);

void add_lifecycle_verbs(CLI::App& app, RuntimeContext& ctx);  // create start run delete kill
void add_state_verbs(CLI::App& app, RuntimeContext& ctx);      // state list
void add_spec_verbs(CLI::App& app, RuntimeContext& ctx);       // spec features
void add_exec_verb(CLI::App& app, RuntimeContext& ctx);        // exec
void add_control_verbs(CLI::App& app, RuntimeContext& ctx);    // pause resume ps update

// Parses a signal name ("KILL", "SIGKILL", "9").
Result<int> parse_signal(std::string_view s);

int run_runtime_cli(int argc, char** argv);

}  // namespace berth::cli
