// seccomp: config.json's linux.seccomp compiled with libseccomp. The filter is either handed to
// the exec helper as BPF (loaded right before the user's exec, when no_new_privs is set) or
// loaded by the init itself while it still has CAP_SYS_ADMIN (no_new_privs unset, or a
// notify listener that needs the filter's fd).
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::runtime {

// Names the field at fault for an unknown action, architecture, operator or flag.
Result<void> validate_seccomp(const oci::Seccomp& s);
// True when some rule (or the default) uses SCMP_ACT_NOTIFY.
bool seccomp_uses_notify(const oci::Seccomp& s);
// The filter as a BPF program in a memfd (rewound), and the seccomp(2) flags to load it with.
struct SeccompBpf {
  UniqueFd fd;
  unsigned flags = 0;
};
Result<SeccompBpf> compile_seccomp(const oci::Seccomp& s);
// Loads the filter into this process; returns the notify fd when the profile uses NOTIFY.
Result<UniqueFd> load_seccomp(const oci::Seccomp& s);

// compile_seccomp with a cache: compiling a large profile (Docker's has ~300 rules, for three
// architectures) costs tens of milliseconds, and engines pass the same profile every time.
// The program is kept in cache_dir under a hash of seccomp_cache_key(s); the file also holds
// that key, compared byte for byte, so a hash collision can never pick another filter.
Result<SeccompBpf> compile_seccomp_cached(const oci::Seccomp& s, const std::string& cache_dir);
// Everything of s that compile_seccomp reads, as one unambiguous string (every field with its
// length): the cache's key, made without serialising the spec again.
std::string seccomp_cache_key(const oci::Seccomp& s);
// Loads a BPF program (from compile_seccomp) into this process with seccomp(2); with
// new_listener, returns the notify fd.
Result<UniqueFd> load_seccomp_bpf(int bpf_fd, unsigned flags, bool new_listener);

}  // namespace berth::runtime
