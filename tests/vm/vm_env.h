// The environment every VM test process uses: the kernel scripts/vm-kernel.sh installed, and
// caches (rootfs images, initramfs) in a temp dir of this process (BERTH_VM_KERNEL and
// BERTH_VM_DIR). Shared by the runtime's VM tests and the engine's.
#pragma once

#include <string>

namespace berth::test {

// Sets the environment once per process; returns why no kernel was found ("" when found).
const std::string& use_test_vm_env();

}  // namespace berth::test
