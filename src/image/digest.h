// Content digests ("sha256:<64 hex>") and a streaming SHA-256 (OpenSSL EVP).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::image {

// A validated digest. Only sha256 is accepted: it is what every registry serves, and a
// digest is used as a file name, so its text is checked strictly.
class Digest {
 public:
  Digest() = default;
  static Result<Digest> parse(std::string_view text);
  static Digest from_hex(std::string hex);  // hex must be 64 lowercase hex digits

  const std::string& hex() const { return hex_; }
  std::string str() const { return empty() ? std::string() : "sha256:" + hex_; }
  std::string short_id() const { return hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }
  auto operator<=>(const Digest&) const = default;

 private:
  std::string hex_;
};

bool is_hex64(std::string_view s);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest of everything so far; the hasher may be used no further.
  Digest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest sha256_of(std::string_view data);

// Fails with a message naming what when got != want.
Result<void> verify_digest(const Digest& want, const Digest& got, std::string_view what);

}  // namespace berth::image
