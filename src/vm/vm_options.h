// What a VM is made of beyond config.json: the settings an engine passes in-process, and the
// same settings read from config.json annotations (run.oci.berth.vm.*) for berth-runtime.
// Also the VM's size from the spec's resources, with the documented defaults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::vm {

// The annotation that selects VM isolation in config.json (value "vm").
inline constexpr const char* kIsolationAnnotation = "run.oci.berth.isolation";

inline constexpr uint64_t kDefaultMemoryMiB = 256;
inline constexpr uint64_t kMinMemoryMiB = 128;  // the kernel and agent need about 60 MiB
inline constexpr uint32_t kDefaultCpus = 1;

struct VmOptions {
  std::string vm_dir;                  // kernel and caches; default_vm_dir() when empty
  std::string kernel_dir;              // one kernel version's directory; found in vm_dir when empty
  std::optional<uint64_t> memory_mib;  // overrides the spec's memory limit
  std::optional<uint32_t> cpus;        // overrides the spec's CPU quota / cpuset
  std::string rootfs_key;  // names the cached rootfs image (an image digest); else a tree hash
  // Where the guest's root comes from: "auto" (a small tree in the initramfs, else the ext4
  // image), "initramfs" (an error when the tree does not qualify) or "image".
  std::string rootfs_mode = "auto";
  // Network: "" (none: the guest has only lo), "tap" (an existing tap device, opened in the
  // spec's network namespace if it names one) or "user" (QEMU's user-mode NAT).
  std::string net;
  std::string tap;
  std::string mac;               // default: derived from the container id
  std::string address;           // guest IPv4 address with prefix, "10.88.0.5/16"
  std::string gateway;           // default route ("" for none)
  bool verbose_console = false;  // kernel messages to the console log
  std::optional<bool> kvm;       // force KVM on or off; default: when /dev/kvm is usable
};

// Base options with config.json annotations applied over them:
//   run.oci.berth.vm.memory (MiB), .cpus, .kernel (a kernel version directory),
//   .rootfs-key, .net (tap|user), .tap, .mac, .address (CIDR), .gateway, .verbose (true),
//   .accel (kvm|tcg).
Result<VmOptions> apply_annotations(VmOptions base,
                                    const std::map<std::string, std::string>& annotations);

struct VmSize {
  uint64_t memory_mib = kDefaultMemoryMiB;
  uint32_t cpus = kDefaultCpus;
};

// Memory: linux.resources.memory.limit rounded up to MiB (at least kMinMemoryMiB), else the
// default. CPUs: ceil(cpu.quota / cpu.period), else the count of cpu.cpus, else the default;
// at most host_cpus. Options override both.
VmSize vm_size(const oci::Spec& spec, const VmOptions& o, unsigned host_cpus);

// "52:54:00:xx:xx:xx" from a hash of the id: stable for a container, unlikely to collide.
std::string mac_for(std::string_view id);

}  // namespace berth::vm
