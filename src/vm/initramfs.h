// The guest's initramfs: the agent as /init, the kernel's modules the agent may load (as
// /lib/modules/<name>.ko) and /dev/console. Built once per kernel and agent, cached.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "vm/kernel.h"

namespace berth::vm {

// The embedded agent binary.
std::string_view agent_binary();
// Its SHA-256 in hex, computed when berth was built.
std::string_view agent_digest();

// A module without its appended signature ("~Module signature appended~"). The guest kernel
// then loads it without verifying an RSA signature, which under TCG costs tens of ms per
// module (the kernel does not enforce signatures: CONFIG_MODULE_SIG_FORCE is off, and a
// module that fails the check loads all the same, tainting the kernel). A module without
// a signature is returned unchanged.
std::string_view strip_module_signature(std::string_view ko);

// Pure: the cpio archive of the agent and the modules ((name, content) pairs).
std::string build_initramfs(std::string_view agent,
                            const std::vector<std::pair<std::string, std::string>>& modules);

// Keeps the newest `keep` files of cache_dir whose names start with prefix.
void evict_old(const std::string& cache_dir, std::string_view prefix, size_t keep);

// The cached initramfs for this kernel with these of its modules (names as modules.dep
// has them; a VM carries only what it loads: less for the kernel to unpack at boot), made
// under cache_dir when missing; its path.
Result<std::string> ensure_initramfs(const Kernel& k, const std::string& cache_dir,
                                     const std::vector<std::string>& modules);

}  // namespace berth::vm
