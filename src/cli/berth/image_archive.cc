// berth load, save, import.
#include "cli/berth/app.h"
#include "image/archive.h"
#include "registry/context.h"

namespace berth::cli {
namespace {

struct SaveFlags {
  std::vector<std::string> images;
  std::string output, format = "docker-archive";
};

struct ImportFlags {
  std::string tarball, name, message;
  std::vector<std::string> changes;
};

void add(CLI::App& app, BerthGlobals& g) {
  auto input = std::make_shared<std::string>();
  auto* load = app.add_subcommand("load", "load images from a docker-archive or oci-archive tar");
  load->add_option("-i,--input", *input, "archive file")->required();
  on_berth_run(load, [&g, input]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    for (const auto& img : BERTH_TRY(image::load_archive(*ctx.store, *input))) {
      if (img.names.empty()) fmt::print("Loaded image: {}\n", img.config.str());
      for (const auto& n : img.names)
        fmt::print("Loaded image: {}\n", ctx.store->parse_name(n).familiar());
    }
    return 0;
  });

  auto sf = std::make_shared<SaveFlags>();
  auto* save = app.add_subcommand("save", "write images to a tar archive");
  save->add_option("images", sf->images, "images")->required();
  save->add_option("-o,--output", sf->output, "archive file to write")->required();
  save->add_option("--format", sf->format, "docker-archive (default) or oci-archive");
  on_berth_run(save, [&g, sf]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    image::ArchiveFormat f;
    if (sf->format == "docker-archive")
      f = image::ArchiveFormat::kDockerArchive;
    else if (sf->format == "oci-archive")
      f = image::ArchiveFormat::kOciArchive;
    else
      return fail(invalid("--format: docker-archive or oci-archive"));
    BERTH_CHECK(image::save_archive(*ctx.store, sf->images, f, sf->output));
    return 0;
  });

  auto imf = std::make_shared<ImportFlags>();
  auto* imp = app.add_subcommand("import",
                                 "make a one-layer image from a root file system "
                                 "tarball (plain, gzip or zstd)");
  imp->add_option("tarball", imf->tarball, "tar file")->required();
  imp->add_option("name", imf->name, "image name[:tag]");
  imp->add_option("-c,--change", imf->changes,
                  "Dockerfile-style setting: CMD, ENTRYPOINT, ENV, "
                  "WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL (repeat for more)")
      ->allow_extra_args(false);
  imp->add_option("-m,--message", imf->message, "history comment");
  on_berth_run(imp, [&g, imf]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    image::ImportOptions o{imf->changes, imf->message};
    auto img = BERTH_TRY(image::import_rootfs(*ctx.store, imf->tarball, imf->name, o));
    fmt::print("{}\n", img.config.str());
    return 0;
  });
}

const BerthVerbs kVerbs("image", {"load", "save", "import"}, add);

}  // namespace
}  // namespace berth::cli
