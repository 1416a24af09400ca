#include "vm/vm_options.h"

#include <fmt/format.h>

#include "base/strings.h"
#include "vm/sha256.h"

namespace berth::vm {

namespace {

constexpr std::string_view kPrefix = "run.oci.berth.vm.";

// Counts the CPUs of a cpuset list ("0-3,6").
std::optional<uint32_t> count_cpus(std::string_view list) {
  uint32_t n = 0;
  for (const auto& part : split(list, ',')) {
    std::string_view t = trim(part);
    if (t.empty()) continue;
    auto dash = t.find('-');
    if (dash == std::string_view::npos) {
      if (!parse_uint(t)) return std::nullopt;
      ++n;
    } else {
      auto a = parse_uint(t.substr(0, dash)), b = parse_uint(t.substr(dash + 1));
      if (!a || !b || *b < *a) return std::nullopt;
      n += static_cast<uint32_t>(*b - *a + 1);
    }
  }
  return n ? std::optional<uint32_t>(n) : std::nullopt;
}

}  // namespace

Result<VmOptions> apply_annotations(VmOptions o,
                                    const std::map<std::string, std::string>& annotations) {
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(kPrefix)) continue;
    std::string_view k = std::string_view(key).substr(kPrefix.size());
    if (k == "memory") {
      auto v = parse_uint(value);
      if (!v || *v == 0)
        return fail(invalid("annotation {}: {:?} is not a size in MiB", key, value));
      o.memory_mib = *v;
    } else if (k == "cpus") {
      auto v = parse_uint(value);
      if (!v || *v == 0 || *v > 255)
        return fail(invalid("annotation {}: {:?} is not a CPU count", key, value));
      o.cpus = static_cast<uint32_t>(*v);
    } else if (k == "kernel") {
      o.kernel_dir = value;
    } else if (k == "rootfs-key") {
      o.rootfs_key = value;
    } else if (k == "rootfs") {
      if (value != "auto" && value != "initramfs" && value != "image")
        return fail(invalid("annotation {}: {:?} is not auto, initramfs or image", key, value));
      o.rootfs_mode = value;
    } else if (k == "net") {
      if (value != "tap" && value != "user" && value != "none" && !value.empty())
        return fail(invalid("annotation {}: {:?} is not tap, user or none", key, value));
      o.net = value == "none" ? "" : value;
    } else if (k == "tap") {
      o.tap = value;
      if (o.net.empty()) o.net = "tap";
    } else if (k == "mac") {
      o.mac = value;
    } else if (k == "address") {
      o.address = value;
    } else if (k == "gateway") {
      o.gateway = value;
    } else if (k == "verbose") {
      o.verbose_console = value == "true" || value == "1";
    } else if (k == "accel") {
      if (value != "kvm" && value != "tcg")
        return fail(invalid("annotation {}: {:?} is not kvm or tcg", key, value));
      o.kvm = value == "kvm";
    }
  }
  if (o.net == "tap" && o.tap.empty())
    return fail(invalid("VM network \"tap\" needs a tap device (run.oci.berth.vm.tap)"));
  if (o.net == "tap" && o.tap.size() > 15)
    return fail(invalid("tap device name {:?} is too long", o.tap));
  return o;
}

VmSize vm_size(const oci::Spec& spec, const VmOptions& o, unsigned host_cpus) {
  VmSize s;
  const auto& res = spec.linux.resources;
  if (res && res->memory && res->memory->limit && *res->memory->limit > 0) {
    uint64_t mib = (static_cast<uint64_t>(*res->memory->limit) + (1 << 20) - 1) >> 20;
    s.memory_mib = std::max(mib, kMinMemoryMiB);
  }
  if (o.memory_mib) s.memory_mib = std::max(*o.memory_mib, kMinMemoryMiB);
  if (res && res->cpu) {
    const auto& cpu = *res->cpu;
    if (cpu.quota && *cpu.quota > 0) {
      uint64_t period = cpu.period.value_or(100000);
      if (period == 0) period = 100000;
      s.cpus = static_cast<uint32_t>((static_cast<uint64_t>(*cpu.quota) + period - 1) / period);
    } else if (auto n = count_cpus(cpu.cpus)) {
      s.cpus = *n;
    }
  }
  if (o.cpus) s.cpus = *o.cpus;
  if (host_cpus > 0) s.cpus = std::min(s.cpus, host_cpus);
  s.cpus = std::max<uint32_t>(s.cpus, 1);
  return s;
}

std::string mac_for(std::string_view id) {
  auto d = Sha256();
  d.update(id);
  auto h = d.finish();
  return fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2]);
}

}  // namespace berth::vm
