// volume create, ls, inspect, rm, prune.
#include <nlohmann/json.hpp>
#include <set>

#include "cli/berth/engine_cli.h"
#include "engine/copy.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// Names of the volumes some container (running or not) uses.
Result<std::set<std::string>> volumes_in_use(engine::Engine& e) {
  std::set<std::string> used;
  for (const auto& c : BERTH_TRY(e.list()))
    for (const auto& m : c.options.mounts)
      if (m.type == "volume") used.insert(m.source);
  return used;
}

json volume_json(const engine::Volume& v) {
  return {{"Name", v.name},         {"Driver", "local"},  {"Mountpoint", v.mountpoint},
          {"CreatedAt", v.created}, {"Labels", v.labels}, {"Anonymous", v.anonymous}};
}

void add(CLI::App& app, BerthGlobals& g) {
  auto* vol = app.add_subcommand("volume", "manage volumes (storage that outlives containers)");
  vol->require_subcommand(1);
  {
    auto* sub = vol->add_subcommand("create", "create a volume");
    auto name = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    sub->add_option("-l,--label", *labels, "set a label KEY=VALUE");
    sub->add_option("name", *name, "the volume's name (default: a random one)");
    on_berth_run(sub, [&g, name, labels]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      std::map<std::string, std::string> l;
      for (const auto& kv : *labels)
        l[kv.substr(0, kv.find('='))] =
            kv.find('=') == std::string::npos ? "" : kv.substr(kv.find('=') + 1);
      std::string n = name->empty() ? engine::random_id() : *name;
      bool made = false;
      BERTH_CHECK(e->volumes().ensure(n, false, &made, l));
      fmt::print("{}\n", n);
      return 0;
    });
  }
  {
    auto* sub = vol->add_subcommand("ls", "list volumes");
    auto quiet = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>("table");
    sub->add_flag("-q,--quiet", *quiet, "only names");
    sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    on_berth_run(sub, [&g, quiet, format]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto vols = BERTH_TRY(e->volumes().list());
      if (*format == "json") {
        json arr = json::array();
        for (const auto& v : vols) arr.push_back(volume_json(v));
        fmt::print("{}\n", arr.dump());
      } else if (*quiet) {
        for (const auto& v : vols) fmt::print("{}\n", v.name);
      } else {
        fmt::print("{:<10}{}\n", "DRIVER", "VOLUME NAME");
        for (const auto& v : vols) fmt::print("{:<10}{}\n", "local", v.name);
      }
      return 0;
    });
  }
  {
    auto* sub = vol->add_subcommand("inspect", "print volumes' details as JSON");
    auto names = std::make_shared<std::vector<std::string>>();
    sub->add_option("volume", *names, "volumes")->required();
    on_berth_run(sub, [&g, names]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      json arr = json::array();
      for (const auto& n : *names) arr.push_back(volume_json(BERTH_TRY(e->volumes().get(n))));
      fmt::print("{}\n", arr.dump(2));
      return 0;
    });
  }
  {
    auto* sub = vol->add_subcommand("rm", "remove volumes (not while a container uses them)");
    auto names = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    sub->add_flag("-f,--force", *force, "no error for a missing volume");
    sub->add_option("volume", *names, "volumes")->required();
    on_berth_run(sub, [&g, names, force]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto used = BERTH_TRY(volumes_in_use(*e));
      int rc = 0;
      for (const auto& n : *names) {
        Result<void> r;
        if (used.count(n)) {
          r = fail(make_error(ErrorKind::kFailedPrecondition,
                              "volume {} is in use by a container; remove the container first", n));
        } else {
          r = e->volumes().remove(n);
          if (!r && *force && r.error().kind() == ErrorKind::kNotFound) r = {};
        }
        if (!r) {
          fprintf(stderr, "berth: %s\n", r.error().text().c_str());
          rc = 1;
        } else {
          fmt::print("{}\n", n);
        }
      }
      return rc;
    });
  }
  {
    auto* sub = vol->add_subcommand("prune", "remove every volume no container uses");
    sub->add_flag("-f,--force")->description("accepted for Docker compatibility");
    on_berth_run(sub, [&g]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto used = BERTH_TRY(volumes_in_use(*e));
      int64_t freed = 0;
      for (const auto& v : BERTH_TRY(e->volumes().list())) {
        if (used.count(v.name)) continue;
        freed += engine::tree_size(v.mountpoint);
        BERTH_CHECK(e->volumes().remove(v.name));
        fmt::print("{}\n", v.name);
      }
      fmt::print("Total reclaimed space: {}\n", human_size(freed));
      return 0;
    });
  }
}

const BerthVerbs kVerbs("volume", {"volume"}, add);

}  // namespace
}  // namespace berth::cli
