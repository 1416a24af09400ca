// state, list.
#include <nlohmann/json.hpp>

#include "cli/runtime/app.h"

namespace berth::cli {

void add_state_verbs(CLI::App& app, RuntimeContext& ctx) {
  {
    auto* sub = app.add_subcommand("state", "print a container's state as OCI state JSON");
    auto id = std::make_shared<std::string>();
    sub->add_option("container-id", *id, "the container")->required();
    on_run(sub, [&ctx, id]() -> Result<int> {
      auto h = BERTH_TRY(ctx.handler_for(*id));
      oci::State st = BERTH_TRY(h->state(*id));
      fmt::print("{}\n", st.oci_json(true));
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("list", "list the containers under --root");
    auto format = std::make_shared<std::string>("table");
    auto quiet = std::make_shared<bool>(false);
    sub->add_option("-f,--format", *format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    sub->add_flag("-q,--quiet", *quiet, "print only the ids");
    on_run(sub, [&ctx, format, quiet]() -> Result<int> {
      runtime::Store store = ctx.store();
      std::vector<std::string> ids = BERTH_TRY(store.list());
      std::vector<oci::State> states;
      for (const auto& id : ids) {
        auto h = ctx.handler_for(id);
        if (!h) continue;
        auto st = (*h)->state(id);
        if (st) states.push_back(std::move(*st));
      }
      if (*quiet) {
        for (const auto& s : states) fmt::print("{}\n", s.id);
      } else if (*format == "json") {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& s : states) arr.push_back(nlohmann::json::parse(s.oci_json(false)));
        fmt::print("{}\n", arr.dump());
      } else {
        fmt::print("{:<24} {:<8} {:<10} {:<40} {:<32} {}\n", "ID", "PID", "STATUS", "BUNDLE",
                   "CREATED", "OWNER");
        for (const auto& s : states)
          fmt::print("{:<24} {:<8} {:<10} {:<40} {:<32} {}\n", s.id,
                     s.status == oci::Status::kStopped ? 0 : s.pid, oci::status_name(s.status),
                     s.bundle, s.created, s.owner);
      }
      return 0;
    });
  }
}

}  // namespace berth::cli
