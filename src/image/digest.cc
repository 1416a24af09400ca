#include "image/digest.h"

#include <openssl/evp.h>

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

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) abort();
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t n) {
  if (n) EVP_DigestUpdate(ctx_->md, data, n);
}

Digest Sha256::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
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
