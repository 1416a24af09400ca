#include "vm/vm_env.h"

#include <stdlib.h>

#include "support/harness.h"
#include "vm/kernel.h"

namespace berth::test {

const std::string& use_test_vm_env() {
  static const std::string error = [] {
    auto k = vm::find_kernel(vm::default_vm_dir());
    if (!k) return k.error().text() + "\n(the VM tests need scripts/vm-kernel.sh to have run)";
    setenv("BERTH_VM_KERNEL", k->dir.c_str(), 1);
    static TempDir vm_dir("berth-test-vmdir");
    setenv("BERTH_VM_DIR", vm_dir.path().c_str(), 1);
    return std::string();
  }();
  return error;
}

}  // namespace berth::test
