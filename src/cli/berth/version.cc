// berth version, berth info (grows as areas land).
#include <sys/utsname.h>

#include "cgroup/layout.h"
#include "cli/berth/app.h"

namespace berth::cli {
namespace {

void add(CLI::App& app, BerthGlobals& g) {
  auto* v = app.add_subcommand("version", "print berth's version");
  on_berth_run(v, []() -> Result<int> {
    fmt::print("berth version {}\n", BERTH_VERSION);
    return 0;
  });
  auto* info = app.add_subcommand("info", "print facts about this host and berth's setup");
  on_berth_run(info, [&g]() -> Result<int> {
    utsname u{};
    uname(&u);
    auto layout = cgroup::detect_layout();
    fmt::print("version: {}\nkernel: {}\nroot: {}\nstate: {}\ncgroups: {}\n", BERTH_VERSION,
               u.release, g.root, g.state,
               layout ? cgroup::mode_name(layout->mode) : std::string_view("unavailable"));
    return 0;
  });
}

const BerthVerbs kVerbs("version", {"version", "info"}, add);

}  // namespace
}  // namespace berth::cli
