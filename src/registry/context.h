// What the image verbs need, opened from the global flags: the store, the registry config
// (--config, default <root>/config.json) and the credentials file (default <root>/auth.json).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "image/store.h"
#include "registry/auth.h"
#include "registry/config.h"

namespace berth::registry {

struct ImageContext {
  std::unique_ptr<image::Store> store;
  RegistryConfig config;
  AuthFile auth{""};
};

Result<ImageContext> open_context(const std::string& root, const std::string& config_path);

}  // namespace berth::registry
