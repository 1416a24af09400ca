// system df, system prune, system boot.
#include <set>

#include "base/path.h"
#include "cli/berth/engine_cli.h"
#include "engine/copy.h"
#include "image/store.h"
#include "net/network.h"

namespace berth::cli {
namespace {

void add(CLI::App& app, BerthGlobals& g) {
  auto* sys = app.add_subcommand("system", "manage berth as a whole");
  sys->require_subcommand(1);
  {
    auto* sub = sys->add_subcommand("df", "disk space used by images, containers and volumes");
    on_berth_run(sub, [&g]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      image::Store* st = BERTH_TRY(e->images());
      auto images = BERTH_TRY(st->list());
      int64_t isize = 0;
      for (const auto& i : images) isize += i.size;
      auto cs = BERTH_TRY(e->list());
      int64_t csize = 0;
      int running = 0;
      for (const auto& c : cs) {
        csize +=
            engine::tree_size(path::join(path::join(g.root, "snapshots"), c.record.id) + "/upper");
        if (c.status.state == "running") ++running;
      }
      auto vols = BERTH_TRY(e->volumes().list());
      int64_t vsize = 0;
      for (const auto& v : vols) vsize += engine::tree_size(v.mountpoint);
      fmt::print("{:<16}{:<8}{:<8}{}\n", "TYPE", "TOTAL", "ACTIVE", "SIZE");
      fmt::print("{:<16}{:<8}{:<8}{}\n", "Images", images.size(), "", human_size(isize));
      fmt::print("{:<16}{:<8}{:<8}{}\n", "Containers", cs.size(), running, human_size(csize));
      fmt::print("{:<16}{:<8}{:<8}{}\n", "Local Volumes", vols.size(), "", human_size(vsize));
      return 0;
    });
  }
  {
    auto* sub = sys->add_subcommand(
        "prune",
        "remove stopped containers, unused networks and dangling images (and, with "
        "--volumes, unused volumes)");
    auto volumes = std::make_shared<bool>(false);
    sub->add_flag("--volumes", *volumes, "also remove volumes no container uses");
    sub->add_flag("-f,--force")->description("accepted for Docker compatibility");
    sub->add_flag("-a,--all")->description("accepted; images with names are kept");
    on_berth_run(sub, [&g, volumes]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      int removed = 0;
      for (auto& c : BERTH_TRY(e->list())) {
        if (c.status.state != "exited" && c.status.state != "created") continue;
        if (e->remove(c.record.id, false, false)) ++removed;
      }
      fmt::print("Deleted containers: {}\n", removed);
      if (auto n = e->networks(); n) {
        if (auto pruned = (*n)->prune(); pruned)
          fmt::print("Deleted networks: {}\n", pruned->size());
      }
      if (*volumes) {
        std::set<std::string> used;
        for (const auto& c : BERTH_TRY(e->list()))
          for (const auto& m : c.options.mounts)
            if (m.type == "volume") used.insert(m.source);
        int v = 0;
        for (const auto& vol : BERTH_TRY(e->volumes().list()))
          if (!used.count(vol.name) && e->volumes().remove(vol.name)) ++v;
        fmt::print("Deleted volumes: {}\n", v);
      }
      image::Store* st = BERTH_TRY(e->images());
      auto gc = BERTH_TRY(st->gc(true));
      fmt::print("Deleted images: {}\nTotal reclaimed space: {}\n", gc.images,
                 human_size(gc.bytes));
      return 0;
    });
  }
  {
    auto* sub = sys->add_subcommand(
        "boot",
        "after a reboot: start the containers whose restart policy is always or "
        "unless-stopped (see docs/berth-boot.service)");
    on_berth_run(sub, [&g]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      for (const auto& id : BERTH_TRY(e->boot())) fmt::print("{}\n", id);
      return 0;
    });
  }
}

const BerthVerbs kVerbs("system", {"system"}, add);

}  // namespace
}  // namespace berth::cli
