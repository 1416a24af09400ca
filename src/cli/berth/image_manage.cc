// berth images, rmi, tag, inspect, history, and the `berth image` group (ls, rm, prune, check,
// snapshot) for the local image store.
#include <time.h>

#include <nlohmann/json.hpp>

#include "cli/berth/app.h"
#include "cli/berth/engine_cli.h"
#include "image/json_util.h"
#include "registry/context.h"
#include "registry/progress.h"

namespace berth::cli {
namespace {

std::string ago(int64_t t) {
  int64_t d = static_cast<int64_t>(time(nullptr)) - t;
  if (d < 60) return "Less than a minute ago";
  if (d < 3600) return fmt::format("{} minutes ago", d / 60);
  if (d < 86400) return fmt::format("{} hours ago", d / 3600);
  return fmt::format("{} days ago", d / 86400);
}

// "docker.io/library/busybox:latest" -> ("busybox", "latest") as Docker prints them.
std::pair<std::string, std::string> repo_tag(const image::Store& s, const std::string& key) {
  image::Reference r = s.parse_name(key);
  std::string tag = r.tag.empty() ? "<none>" : r.tag;
  r.tag.clear();
  r.digest = {};
  return {r.familiar(), tag};
}

Result<int> do_images(const BerthGlobals& g, const std::string& format, bool quiet) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  auto list = BERTH_TRY(ctx.store->list());
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& i : list) {
      nlohmann::json e;
      e["Id"] = i.config.str();
      e["Digest"] = i.manifest.str();
      e["Names"] = i.names;
      e["Created"] = i.created;
      e["Size"] = i.size;
      e["Layers"] = i.layers.size();
      out.push_back(e);
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (!format.empty() && format != "table") return fail(invalid("--format: json or table"));
  if (!quiet)
    fmt::print("{:<40} {:<16} {:<14} {:<24} {}\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
               "SIZE");
  for (const auto& i : list) {
    if (quiet) {
      fmt::print("{}\n", i.config.short_id());
      continue;
    }
    std::vector<std::string> names = i.names.empty() ? std::vector<std::string>{""} : i.names;
    for (const auto& n : names) {
      auto [repo, tag] = n.empty() ? std::pair<std::string, std::string>{"<none>", "<none>"}
                                   : repo_tag(*ctx.store, n);
      fmt::print("{:<40} {:<16} {:<14} {:<24} {}\n", repo, tag, i.config.short_id(), ago(i.created),
                 registry::human_bytes(i.size));
    }
  }
  return 0;
}

Result<int> do_rmi(const BerthGlobals& g, const std::vector<std::string>& refs, bool force) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  auto held = BERTH_TRY(ctx.store->lock(true));
  for (const auto& r : refs) {
    for (const auto& n : BERTH_TRY(ctx.store->remove(r, force)))
      fmt::print("Untagged: {}\n", ctx.store->parse_name(n).familiar());
  }
  auto st = BERTH_TRY(ctx.store->gc(false));
  if (st.blobs || st.layers) fmt::print("Deleted: {} blobs, {} layers\n", st.blobs, st.layers);
  return 0;
}

// type: "" (a container of that name or id first, else an image, as docker inspect),
// "container" or "image".
Result<int> do_inspect(const BerthGlobals& g, const std::vector<std::string>& refs,
                       const std::string& type) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  std::unique_ptr<engine::Engine> eng;
  if (type != "image") eng = BERTH_TRY(open_engine(g));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : refs) {
    if (eng) {
      auto c = eng->get(r);
      if (c) {
        out.push_back(container_inspect_json(*eng, *c));
        continue;
      }
      if (type == "container") return fail(std::move(c.error()));
    }
    auto img = BERTH_TRY(ctx.store->resolve(r));
    nlohmann::json e;
    e["Id"] = img.config.str();
    e["Digest"] = img.manifest.str();
    e["MediaType"] = img.media_type;
    e["Names"] = img.names;
    e["Size"] = img.size;
    e["Config"] = ::berth::image::parse_json(BERTH_TRY(ctx.store->config_text(img)));
    e["Layers"] = nlohmann::json::array();
    for (const auto& l : img.layers)
      e["Layers"].push_back({{"Digest", l.blob.str()},
                             {"DiffID", l.diff_id.str()},
                             {"MediaType", l.media_type},
                             {"Size", l.size}});
    out.push_back(e);
  }
  fmt::print("{}\n", out.dump(2));
  return 0;
}

Result<int> do_history(const BerthGlobals& g, const std::string& ref) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  auto img = BERTH_TRY(ctx.store->resolve(ref));
  auto cfg = BERTH_TRY(ctx.store->config(img));
  fmt::print("{:<22} {:<60} {}\n", "CREATED", "CREATED BY", "COMMENT");
  for (auto it = cfg.history.rbegin(); it != cfg.history.rend(); ++it) {
    std::string by =
        it->created_by.size() > 58 ? it->created_by.substr(0, 57) + "…" : it->created_by;
    fmt::print("{:<22} {:<60} {}\n", it->created, by, it->comment);
  }
  return 0;
}

Result<int> do_prune(const BerthGlobals& g, bool all) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  auto held = BERTH_TRY(ctx.store->lock(true));
  if (all) {
    // Every image no snapshot uses loses its names first.
    for (const auto& i : BERTH_TRY(ctx.store->list())) {
      int64_t snaps = BERTH_TRY(ctx.store->db().count(
          "SELECT COUNT(*) FROM snapshots WHERE manifest=?1", {i.manifest.str()}));
      if (snaps == 0)
        BERTH_CHECK(ctx.store->db().run("DELETE FROM tags WHERE manifest=?1", {i.manifest.str()}));
    }
  }
  auto st = BERTH_TRY(ctx.store->gc(true));
  fmt::print("Deleted {} images, {} blobs, {} layers; reclaimed {}\n", st.images, st.blobs,
             st.layers, registry::human_bytes(st.bytes));
  return 0;
}

Result<int> do_check(const BerthGlobals& g, bool quick) {
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  auto rep = BERTH_TRY(ctx.store->check(!quick));
  for (const auto& n : rep.notes) fmt::print("note: {}\n", n);
  for (const auto& p : rep.problems) fmt::print("problem: {}\n", p);
  fmt::print("{} blobs verified, {} problems\n", rep.blobs_checked, rep.problems.size());
  return rep.ok() ? 0 : 1;
}

void add_image_group(CLI::App& app, BerthGlobals& g) {
  auto* grp = app.add_subcommand("image", "manage images");
  grp->require_subcommand(1);
  auto all = std::make_shared<bool>(false);
  auto* prune = grp->add_subcommand("prune", "remove unused images, blobs and layers");
  prune->add_flag("-a,--all", *all,
                  "remove every image no container uses, not only "
                  "untagged ones");
  on_berth_run(prune, [&g, all] { return do_prune(g, *all); });
  auto quick = std::make_shared<bool>(false);
  auto* check = grp->add_subcommand("check",
                                    "verify every blob's digest and every reference "
                                    "in the store (exit 1 on damage)");
  check->add_flag("--quick", *quick, "check references only, not blob contents");
  on_berth_run(check, [&g, quick] { return do_check(g, *quick); });
  auto grefs = std::make_shared<std::vector<std::string>>();
  auto* inspect = grp->add_subcommand("inspect", "print image details as JSON");
  inspect->add_option("images", *grefs, "images")->required();
  on_berth_run(inspect, [&g, grefs] { return do_inspect(g, *grefs, "image"); });

  auto* snap = grp->add_subcommand("snapshot",
                                   "container root file systems (for tests and "
                                   "tools; berth run makes its own)");
  snap->require_subcommand(1);
  auto sargs = std::make_shared<std::pair<std::string, std::string>>();
  auto copy = std::make_shared<bool>(false);
  auto* create = snap->add_subcommand("create",
                                      "mount a new snapshot of an image; prints its "
                                      "rootfs path");
  create->add_option("image", sargs->first, "image")->required();
  create->add_option("key", sargs->second, "snapshot name")->required();
  create->add_flag("--copy", *copy, "copy the layers instead of mounting overlayfs");
  on_berth_run(create, [&g, sargs, copy]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    auto img = BERTH_TRY(ctx.store->resolve(sargs->first));
    auto s = BERTH_TRY(ctx.store->prepare_snapshot(
        img, sargs->second,
        {.mode = *copy ? image::SnapshotMode::kCopy : image::SnapshotMode::kAuto}));
    fmt::print("{}\n", s.rootfs);
    return 0;
  });
  auto rkey = std::make_shared<std::string>();
  auto* rm = snap->add_subcommand("rm", "unmount and delete a snapshot");
  rm->add_option("key", *rkey, "snapshot name")->required();
  on_berth_run(rm, [&g, rkey]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    BERTH_CHECK(ctx.store->remove_snapshot(*rkey));
    return 0;
  });
  auto* ls = snap->add_subcommand("ls", "list snapshots");
  on_berth_run(ls, [&g]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    for (const auto& s : BERTH_TRY(ctx.store->list_snapshots()))
      fmt::print("{}\t{}\t{}\n", s.key, s.mode == image::SnapshotMode::kCopy ? "copy" : "overlay",
                 s.rootfs);
    return 0;
  });
}

void add(CLI::App& app, BerthGlobals& g) {
  auto fmt_flag = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto* images = app.add_subcommand("images", "list images");
  images->add_option("--format", *fmt_flag, "table (default) or json");
  images->add_flag("-q,--quiet", *quiet, "print image IDs only");
  on_berth_run(images, [&g, fmt_flag, quiet] { return do_images(g, *fmt_flag, *quiet); });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto* rmi = app.add_subcommand("rmi", "remove images (names; the data goes with the last one)");
  rmi->add_option("images", *refs, "images (names, IDs or digests)")->required();
  rmi->add_flag("-f,--force", *force, "remove the names even if a container uses the image");
  on_berth_run(rmi, [&g, refs, force] { return do_rmi(g, *refs, *force); });

  auto targs = std::make_shared<std::pair<std::string, std::string>>();
  auto* tag = app.add_subcommand("tag", "give an image another name");
  tag->add_option("source", targs->first, "existing image")->required();
  tag->add_option("target", targs->second, "new name[:tag]")->required();
  on_berth_run(tag, [&g, targs]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    auto img = BERTH_TRY(ctx.store->resolve(targs->first));
    BERTH_CHECK(ctx.store->tag(img, targs->second));
    return 0;
  });

  auto irefs = std::make_shared<std::vector<std::string>>();
  auto* inspect = app.add_subcommand(
      "inspect", "print details of containers or images as JSON (a container of the name first)");
  auto itype = std::make_shared<std::string>();
  inspect->add_option("--type", *itype, "only this kind of object")
      ->check(CLI::IsMember({"container", "image"}));
  inspect->add_option("names", *irefs, "containers or images")->required();
  on_berth_run(inspect, [&g, irefs, itype] { return do_inspect(g, *irefs, *itype); });

  auto href = std::make_shared<std::string>();
  auto* history = app.add_subcommand("history", "show how an image was built");
  history->add_option("image", *href, "image")->required();
  on_berth_run(history, [&g, href] { return do_history(g, *href); });

  add_image_group(app, g);
}

const BerthVerbs kVerbs("image", {"image", "images", "rmi", "tag", "inspect", "history"}, add);

}  // namespace
}  // namespace berth::cli
