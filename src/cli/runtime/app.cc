#include "cli/runtime/app.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strings.h"
#include "cli/parse.h"
#include "vm/vm_handler.h"

namespace berth::cli {
namespace {

VerbAction* chosen = nullptr;

}  // namespace

void on_run(CLI::App* sub, VerbAction action) {
  auto* a = new VerbAction(std::move(action));  // lives as long as the process
  sub->callback([a] { chosen = a; });
}

Result<std::unique_ptr<runtime::Handler>> RuntimeContext::handler_for(std::string_view id) const {
  return vm::handler_for(store(), id);  // the handler recorded at create owns the container
}

Result<std::unique_ptr<runtime::Handler>> RuntimeContext::handler_for_spec(
    const oci::Spec& spec) const {
  return vm::handler_for_spec(store(), spec);
}

Result<int> parse_signal(std::string_view s) {
  if (auto n = parse_int(s)) {
    if (*n <= 0 || *n > 64) return fail(invalid("signal {} is out of range", s));
    return static_cast<int>(*n);
  }
  std::string up;
  for (char c : s) up.push_back(static_cast<char>(toupper(static_cast<unsigned char>(c))));
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  for (int i = 1; i < 32; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev && up == abbrev) return i;
  }
  if (up.rfind("RTMIN", 0) == 0) {
    int off = up.size() > 5 ? static_cast<int>(parse_int(up.substr(6)).value_or(0)) : 0;
    return SIGRTMIN + off;
  }
  return fail(invalid("unknown signal {:?}", s));
}

int run_runtime_cli(int argc, char** argv) {
  log::set_program("berth-runtime");
  RuntimeContext ctx;
  CLI::App app{
      "berth-runtime: an OCI runtime (a drop-in for runc) that runs containers with "
      "namespaces and cgroups",
      "berth-runtime"};
  app.set_version_flag("-v,--version",
                       std::string("berth-runtime version ") + BERTH_VERSION + "\nspec: 1.2.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--root", ctx.g.root, "directory for the containers' state (on tmpfs)")
      ->capture_default_str();
  app.add_option("--log", ctx.g.log_file, "write log lines to this file (default: stderr)");
  app.add_option("--log-format", ctx.g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--debug", ctx.g.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", ctx.g.systemd_cgroup,
               "take cgroupsPath as slice:prefix:name (systemd's form); without systemd the "
               "path is made on cgroupfs");
  app.add_option("--rootless", ctx.g.rootless, "accepted for runc compatibility: true|false|auto");
  app.add_option("--criu")->description(
      "accepted for runc compatibility; checkpointing is not supported");

  add_lifecycle_verbs(app, ctx);
  add_state_verbs(app, ctx);
  add_spec_verbs(app, ctx);
  add_exec_verb(app, ctx);
  add_control_verbs(app, ctx);
  if (auto done = parse_command_line(app, argc, argv, "berth-runtime", 1)) return *done;
  int log_fd = 2;
  if (!ctx.g.log_file.empty()) {
    log_fd = ::open(ctx.g.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      fprintf(stderr, "berth-runtime: --log %s: %s\n", ctx.g.log_file.c_str(), strerror(errno));
      return 1;
    }
  }
  log::configure(log_fd, ctx.g.log_format == "json" ? log::Format::kJson : log::Format::kText,
                 ctx.g.debug ? log::Level::kDebug : log::Level::kWarn);
  if (!chosen) return 1;
  Result<int> r = (*chosen)();
  if (!r) {
    std::string msg = r.error().text();
    // containerd and podman read the last error from the log file; people read stderr.
    if (log_fd != 2) log::error("{}", msg);
    fprintf(stderr, "berth-runtime: %s\n", msg.c_str());
    return 1;
  }
  return *r;
}

}  // namespace berth::cli
