// libFuzzer target: image references, platforms, digests and WWW-Authenticate challenges.
// A reference that parses must parse again from its normalized text to the same value.
#include <cstdint>
#include <string>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "registry/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace berth;
  if (auto r = image::parse_reference(text)) {
    auto again = image::parse_reference(r->str());
    if (!again || again->str() != r->str()) __builtin_trap();
    (void)r->familiar();
  }
  (void)image::parse_repository(text);
  (void)image::parse_platform(text);
  (void)image::Digest::parse(text);
  (void)registry::parse_challenge(text);
  (void)registry::base64_decode(text);
  return 0;
}
