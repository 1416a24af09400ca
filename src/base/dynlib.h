// Shared libraries opened when first used (dlopen) rather than at every start, and what the
// static `berth` does instead.
//
// libcurl and libnftables are opened here on first use: with their dependency trees (TLS,
// Kerberos, LDAP, ICU, GMP, xtables, ...) they were ~40 of the binary's 52 shared libraries,
// and loading them cost every berth command ~20 ms of page faults and relocations on this
// machine, while only pull/push/login need libcurl and only bridge networking's rule changes
// need libnftables.
//
// `berth` itself is linked statically (no dynamic loader at each start: ~2-3 ms of a `run`
// here) and so cannot open shared libraries (a static program that dlopens gets a second C
// library). There loadable() is false (static/dynlib_none.cc replaces dynlib.cc at its link)
// and that work runs in berth-dynamic, the same berth linked dynamically and installed next to
// it: the registry verbs re-exec it (exec_dynamic), nftables changes are one short run of it
// (run_dynamic).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::dynlib {

// The handle of `soname` (opened once per process), or an error naming it.
Result<void*> open(const char* soname);

// Resolves each name into the matching pointer: fills `slots` in order. An error names the
// library and the missing symbol.
Result<void> resolve(const char* soname,
                     std::initializer_list<std::pair<const char*, void**>> slots);

// False in the static berth: open() always fails there.
bool loadable();

// berth-dynamic: next to this binary (BERTH_DYNAMIC overrides it).
std::string dynamic_binary();
// Replaces this process with berth-dynamic running argv[1...]; returns only on failure.
Error exec_dynamic(const std::vector<std::string>& argv);
// Runs berth-dynamic with args and `input` on its stdin: its stdout, or an error with the last
// line it printed on stderr.
Result<std::string> run_dynamic(const std::vector<std::string>& args, std::string_view input);

}  // namespace berth::dynlib
