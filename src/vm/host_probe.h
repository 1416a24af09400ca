// What the host offers a VM: QEMU and virtiofsd binaries, whether KVM is usable (else TCG),
// its TSC frequency (for the guest's tsc_early_khz) and CPU count.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace berth::vm {

// $BERTH_QEMU, else qemu-system-x86_64 along PATH; kUnavailable with the fix when missing.
Result<std::string> find_qemu();
// $BERTH_VIRTIOFSD, else Debian's /usr/libexec/virtiofsd or /usr/lib/qemu/virtiofsd, else PATH.
Result<std::string> find_virtiofsd();
// /dev/kvm opens read-write and speaks API version 12.
bool kvm_usable();
// The TSC frequency in kHz: CPUID leaf 0x15 when the CPU reports it, else measured against
// CLOCK_MONOTONIC_RAW over 20 ms. 0 when the CPU has no invariant TSC.
uint64_t host_tsc_khz();
unsigned host_cpus();

// Searches PATH for an executable.
std::string which(const std::string& name);

}  // namespace berth::vm
