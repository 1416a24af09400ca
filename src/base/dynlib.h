// Shared libraries opened when first used (dlopen) rather than at every start.
//
// `berth` links SQLite, libmnl and the runtime directly, but libcurl and libnftables are
// opened here on first use: with their dependency trees (TLS, Kerberos, LDAP, ICU, GMP,
// xtables, ...) they were ~40 of the binary's 52 shared libraries, and loading them cost
// every berth command ~20 ms of page faults and relocations on this machine, while only
// pull/push/login need libcurl and only bridge networking needs libnftables.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::dynlib {

// The handle of `soname` (opened once per process), or an error naming it.
Result<void*> open(const char* soname);

// Resolves each name into the matching pointer: fills `slots` in order. An error names the
// library and the missing symbol.
Result<void> resolve(const char* soname,
                     std::initializer_list<std::pair<const char*, void**>> slots);

}  // namespace berth::dynlib
