// SHA-256 (FIPS 180-4), for cache keys: the rootfs image and the initramfs are named by the
// digest of what they were made from.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth::vm {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  std::array<uint8_t, 32> finish();
  // Lower-case hex of finish().
  std::string hex();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);

}  // namespace berth::vm
