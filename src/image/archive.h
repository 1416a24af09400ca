// Image archives: `berth load` / `berth save` of docker-archive (docker save's format:
// manifest.json plus config and layer files) and oci-archive (a tarred OCI image layout),
// and `berth import` of a plain root file system tarball as a one-layer image.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "image/store.h"

namespace berth::image {

enum class ArchiveFormat { kDockerArchive, kOciArchive };

// Loads every image of the archive at path (either format, detected; gzip or zstd wrapped
// archives too). Layers are verified against the configs' diff_ids. Returns what was loaded.
Result<std::vector<ImageRecord>> load_archive(Store& store, const std::string& path);

// Writes the named images into one archive at path.
Result<void> save_archive(Store& store, const std::vector<std::string>& refs, ArchiveFormat format,
                          const std::string& path);

struct ImportOptions {
  // Dockerfile-style changes: "CMD [\"/bin/sh\"]", "ENTRYPOINT ...", "ENV K=V", "WORKDIR /x",
  // "USER 1000", "LABEL k=v", "EXPOSE 80/tcp", "STOPSIGNAL SIGINT".
  std::vector<std::string> changes;
  std::string message;  // the history comment
};

// Imports a tarball (plain, gzip or zstd) as a one-layer image named name (may be empty).
Result<ImageRecord> import_rootfs(Store& store, const std::string& tarball, const std::string& name,
                                  const ImportOptions& opts = {});

// Applies one --change line to a config (exposed for tests).
Result<void> apply_change(ImageConfig& c, std::string_view change);

}  // namespace berth::image
