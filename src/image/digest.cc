#include "image/digest.h"

#include <nettle/sha2.h>

#include <cstdlib>

namespace berth::image {

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<Digest> Digest::parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(invalid("digest {:?}: expected algorithm:hex", std::string(text.substr(0, 80))));
  std::string_view algo = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  if (algo != "sha256")
    return fail(make_error(ErrorKind::kUnavailable, "digest algorithm {:?} is not supported",
                           std::string(algo.substr(0, 32))));
  if (!is_hex64(hex))
    return fail(invalid("digest {:?}: expected 64 lowercase hex digits after sha256:",
                        std::string(text.substr(0, 80))));
  return from_hex(std::string(hex));
}

Digest Digest::from_hex(std::string hex) {
  Digest d;
  d.hex_ = std::move(hex);
  return d;
}

// nettle rather than OpenSSL's EVP interface: EVP's first digest in a process initialises
// OpenSSL's provider machinery and reads openssl.cnf, ~1-2 ms that every `berth run` paid
// to check one small config blob. nettle's SHA-256 has no set-up (and uses the CPU's SHA
// instructions, as OpenSSL does).
struct Sha256::Ctx {
  sha256_ctx c;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { sha256_init(&ctx_->c); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t n) {
  if (n) sha256_update(&ctx_->c, n, static_cast<const uint8_t*>(data));
}

Digest Sha256::finish() {
  uint8_t out[SHA256_DIGEST_SIZE];
  constexpr unsigned len = SHA256_DIGEST_SIZE;
  sha256_digest(&ctx_->c, len, out);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 15]);
  }
  return Digest::from_hex(std::move(hex));
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

Result<void> verify_digest(const Digest& want, const Digest& got, std::string_view what) {
  if (want == got) return {};
  return fail(make_error(ErrorKind::kFailedPrecondition, "{}: digest mismatch: expected {}, got {}",
                         what, want.str(), got.str()));
}

}  // namespace berth::image
