#include "vm/cpio.h"

#include <fmt/format.h>
#include <sys/stat.h>

namespace berth::vm {
namespace {

void pad4(std::string& s) {
  while (s.size() % 4) s.push_back('\0');
}

}  // namespace

void CpioWriter::entry(std::string_view name, uint32_t mode, std::string_view data,
                       const CpioMeta& m, unsigned rmajor, unsigned rminor) {
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  uint32_t ino = name == "TRAILER!!!" ? 0 : next_ino_++;
  out_ += fmt::format(
      "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}", ino,
      mode, m.uid, m.gid, S_ISDIR(mode) ? 2 : 1, m.mtime, data.size(), 0, 0, rmajor, rminor,
      name.size() + 1, 0);
  out_.append(name);
  out_.push_back('\0');
  pad4(out_);
  out_.append(data);
  pad4(out_);
}

void CpioWriter::dir(std::string_view name, mode_t perm, const CpioMeta& m) {
  entry(name, S_IFDIR | perm, {}, m);
}

void CpioWriter::file(std::string_view name, std::string_view content, mode_t perm,
                      const CpioMeta& m) {
  entry(name, S_IFREG | perm, content, m);
}

void CpioWriter::symlink(std::string_view name, std::string_view target, const CpioMeta& m) {
  entry(name, S_IFLNK | 0777, target, m);
}

void CpioWriter::char_device(std::string_view name, unsigned major, unsigned minor, mode_t perm) {
  entry(name, S_IFCHR | perm, {}, {}, major, minor);
}

std::string CpioWriter::finish() {
  entry("TRAILER!!!", 0, {});
  // The kernel reads the initramfs in 512-byte blocks.
  while (out_.size() % 512) out_.push_back('\0');
  return std::move(out_);
}

}  // namespace berth::vm
