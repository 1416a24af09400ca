// libFuzzer target: manifests, indexes, image configs and the docker-archive/OCI detection
// parse untrusted JSON without crashing; what parses serializes and parses again.
#include <cstdint>
#include <string>

#include "image/image_config.h"
#include "image/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace berth::image;
  (void)detect_media_type(text);
  if (auto m = parse_manifest(text)) {
    for (const auto& l : m->layers) (void)layer_compression(l.media_type);
    if (!parse_manifest(manifest_json(*m))) __builtin_trap();
  }
  if (auto idx = parse_index(text)) {
    (void)choose_platform(*idx, host_platform());
    if (!parse_index(index_json(*idx))) __builtin_trap();
  }
  if (auto c = parse_image_config(text)) {
    (void)run_defaults(*c, {"x"});
    if (!parse_image_config(image_config_json(*c))) __builtin_trap();
  }
  return 0;
}
