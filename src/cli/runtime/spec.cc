// spec, features.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/path.h"
#include "cli/runtime/app.h"
#include "runtime/features.h"

namespace berth::cli {

void add_spec_verbs(CLI::App& app, RuntimeContext&) {
  {
    auto* sub = app.add_subcommand("spec", "write a starter config.json into the bundle");
    auto rootless = std::make_shared<bool>(false);
    auto bundle = std::make_shared<std::string>(".");
    sub->add_flag("--rootless", *rootless,
                  "for an unprivileged user: a user namespace mapping the caller, no network "
                  "namespace");
    sub->add_option("-b,--bundle", *bundle, "bundle directory (default: .)");
    on_run(sub, [rootless, bundle]() -> Result<int> {
      std::string p = path::join(*bundle, "config.json");
      if (file::exists(p))
        return fail(make_error(ErrorKind::kAlreadyExists, "{} exists already; remove it first", p));
      std::string text = oci::default_spec(*rootless).dump(2) + "\n";
      BERTH_CHECK(file::write_atomic(p, text, 0644, true));
      return 0;
    });
  }
  {
    auto* sub =
        app.add_subcommand("features", "print what this runtime supports (features.md JSON)");
    on_run(sub, []() -> Result<int> {
      fmt::print("{}\n", runtime::features_json().dump(2));
      return 0;
    });
  }
}

}  // namespace berth::cli
