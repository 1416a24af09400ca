#include "registry/context.h"

namespace berth::registry {

Result<ImageContext> open_context(const std::string& root, const std::string& config_path) {
  ImageContext c;
  std::string cfg = config_path.empty() ? root + "/config.json" : config_path;
  c.config = BERTH_TRY(RegistryConfig::load(cfg));
  image::StoreOptions so;
  so.default_registry = c.config.default_registry;
  c.store = BERTH_TRY(image::Store::open(root, so));
  c.auth = AuthFile(c.config.auth_file.empty() ? root + "/auth.json" : c.config.auth_file);
  return c;
}

}  // namespace berth::registry
