// Pushing an image from the store: each blob is skipped when the registry has it (HEAD),
// mounted from another repository of the same registry where berth saw it before, or
// uploaded (one PUT, or PATCH chunks when a chunk size is set); then the manifest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "image/store.h"
#include "registry/auth.h"
#include "registry/config.h"

namespace berth::registry {

struct PushOptions {
  bool progress = false;
  int64_t chunk_size = -1;  // -1: the config's push_chunk_size
};

struct PushResult {
  image::Digest manifest;
  int blobs_uploaded = 0;
  int blobs_mounted = 0;
  int blobs_present = 0;
};

// Pushes the image named src to dest (empty: src itself).
Result<PushResult> push(image::Store& store, const RegistryConfig& cfg, const AuthFile& auth,
                        std::string_view src, std::string_view dest, const PushOptions& opts = {});

}  // namespace berth::registry
