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

}  // namespace berth::runtime
