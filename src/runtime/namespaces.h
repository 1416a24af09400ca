// Namespaces: join the ones given by path, create the new ones, write user-namespace maps
// and time-namespace offsets.
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// CLONE_NEW* flags of the namespaces to create (those listed without a path).
int new_namespace_flags(const oci::Linux& l);
// True when the init must be a fork after unshare/setns (pid and time namespaces only take
// effect for children).
bool needs_fork(const oci::Linux& l);
// True when `create` may clone the init directly into its new namespaces: namespaces joined
// by path are only network, IPC and UTS ones (the init joins them itself; a pid namespace
// joined by setns applies only to children, a mount namespace would be left before the
// rootfs set-up), and no user or time namespace (their maps and offsets are written between
// unshare and the fork).
bool direct_clone_ok(const oci::Linux& l);
// setns() into each namespace given by path, the user namespace first.
Result<void> join_namespaces(const oci::Linux& l);
// Parent side: uid_map, gid_map (and setgroups) of pid's new user namespace.
Result<void> write_id_mappings(pid_t pid, const oci::Linux& l);
// In the process that unshared CLONE_NEWTIME, before any process enters it.
Result<void> write_time_offsets(const oci::Linux& l);

}  // namespace berth::runtime
