// QEMU's command line for one VM: a pure value built from a plan, unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::vm {

struct QemuShare {
  std::string tag;     // the guest mounts virtiofs by this tag
  std::string socket;  // virtiofsd's vhost-user socket
};

struct QemuNet {
  enum class Kind { kTap, kUser };
  Kind kind = Kind::kTap;
  std::string tap;  // kTap: an existing tap device (in QEMU's network namespace)
  std::string mac;
};

struct QemuPlan {
  std::string qemu = "qemu-system-x86_64";
  std::string name;  // shown by ps and in QMP
  bool kvm = false;  // else TCG
  uint64_t memory_mib = 256;
  uint32_t cpus = 1;
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string console_log;  // the serial console goes to this file ("" : nowhere) ...
  int console_fd = -1;      // ... or to this connected socket (the monitor bounds its size)
  int qmp_fd = -1;          // connected sockets QEMU inherits
  int agent_fd = -1;
  std::string rootfs;  // ext4 image, opened with snapshot=on (writes are thrown away)
  std::vector<QemuShare> shares;
  std::optional<QemuNet> net;
};

std::vector<std::string> qemu_argv(const QemuPlan& p);

}  // namespace berth::vm
