// A writer of cpio archives in the "newc" format, the one the kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst). Pure: builds bytes in memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::vm {

// Owner and modification time of an entry (root and 0 unless given).
struct CpioMeta {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mtime = 0;
};

class CpioWriter {
 public:
  // name without a leading "/": "init", "lib/modules/virtio.ko". perm may carry the
  // set-id and sticky bits.
  void dir(std::string_view name, mode_t perm = 0755, const CpioMeta& m = {});
  void file(std::string_view name, std::string_view content, mode_t perm = 0644,
            const CpioMeta& m = {});
  void symlink(std::string_view name, std::string_view target, const CpioMeta& m = {});
  void char_device(std::string_view name, unsigned major, unsigned minor, mode_t perm = 0600);
  // Appends the trailer and returns the archive.
  std::string finish();

 private:
  void entry(std::string_view name, uint32_t mode, std::string_view data, const CpioMeta& m = {},
             unsigned rmajor = 0, unsigned rminor = 0);
  std::string out_;
  uint32_t next_ino_ = 1;
};

}  // namespace berth::vm
