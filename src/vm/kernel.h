// The guest kernel berth boots, as scripts/vm-kernel.sh installs it:
//   <vm dir>/kernel/<version>/vmlinux, modules/..., modules.dep
// and the module list the agent loads, resolved from modules.dep (dependencies first).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::vm {

// $BERTH_VM_DIR, else /var/lib/berth/vm.
std::string default_vm_dir();

struct Kernel {
  std::string dir;      // the version's directory
  std::string version;  // its name
  std::string vmlinux;
  std::string modules_dep;  // the text of modules.dep
};

// One version's directory as vm-kernel.sh lays it out.
Result<Kernel> load_kernel(const std::string& dir);
// Search order: $BERTH_VM_KERNEL (one version's directory), else the newest version (by
// version order) under <vm_dir>/kernel. A missing kernel is kUnavailable with the fix.
Result<Kernel> find_kernel(const std::string& vm_dir);

struct ModuleInfo {
  std::string path;               // relative to the modules/ directory
  std::vector<std::string> deps;  // module names
};

// "virtio_blk" for "kernel/drivers/block/virtio_blk.ko" (or .ko.xz ...); '-' becomes '_'.
std::string module_name(std::string_view path);
// Parses modules.dep ("path: dep-path dep-path").
std::map<std::string, ModuleInfo> parse_modules_dep(std::string_view text);
// The modules to load for `wanted`, each after its dependencies. A wanted name that
// modules.dep does not list is built into the kernel and skipped.
Result<std::vector<std::string>> resolve_modules(const std::map<std::string, ModuleInfo>& deps,
                                                 const std::vector<std::string>& wanted);

}  // namespace berth::vm
