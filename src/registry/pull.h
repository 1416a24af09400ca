// Pulling an image into the store: manifest (an index or list resolved to one platform),
// config, then the layers in parallel, each unpacked while it downloads. A download that was
// interrupted (even by SIGKILL) resumes from its partial file with an HTTP Range request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "image/manifest.h"
#include "image/store.h"
#include "registry/auth.h"
#include "registry/config.h"

namespace berth::registry {

struct PullOptions {
  std::optional<image::Platform> platform;  // default: this host's
  bool progress = false;                    // draw progress on stderr
  int max_parallel = 0;                     // 0: the config's max_parallel_downloads
  int64_t rate_limit = 0;                   // bytes/s per download (0: none)
};

struct PullResult {
  image::ImageRecord image;
  int layers_fetched = 0;
  int layers_present = 0;
  int64_t bytes_fetched = 0;
  int64_t bytes_resumed = 0;  // bytes a previous, interrupted pull had already fetched
};

Result<PullResult> pull(image::Store& store, const RegistryConfig& cfg, const AuthFile& auth,
                        std::string_view ref, const PullOptions& opts = {});

}  // namespace berth::registry
