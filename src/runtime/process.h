// The container process's own settings, applied in the init just before it execs:
// rlimits, oom score, user and groups, capabilities, no_new_privs, the program path and its
// environment, and the exec through the sealed helper (see exec_helper.c).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::runtime {

// rlimits: one that cannot be set is an error naming it (RLIMIT_NOFILE ...).
Result<void> set_rlimits(const std::vector<oci::Rlimit>& rlimits);
Result<void> set_oom_score_adj(int value);
// Drops the bounding set while still privileged (needs CAP_SETPCAP).
Result<void> drop_bounding_set(const oci::Capabilities& caps);
// setgroups, setresgid, setresuid; capabilities survive (PR_SET_KEEPCAPS).
Result<void> switch_user(const oci::User& user);
// Effective, permitted, inheritable, then ambient.
Result<void> set_capabilities(const oci::Capabilities& caps);
// Finds argv[0] along PATH (from env, else the default) as the kernel would run it.
Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);
// env plus HOME (from /etc/passwd, else "/") and PATH when absent.
std::vector<std::string> final_env(const oci::Process& p);

// The helper as a sealed memfd (close-on-exec), made before any seccomp filter goes in.
Result<UniqueFd> make_exec_helper();
// The last step: exec the helper in helper_fd; it waits on fifo_fd (if >= 0), keeps hold_fd
// (if >= 0, not close-on-exec) open until its own exec of path succeeds, loads the seccomp
// program in seccomp_fd (if >= 0) and execs path. Returns only on failure.
Result<void> exec_via_helper(int helper_fd, int fifo_fd, int seccomp_fd, unsigned seccomp_flags,
                             int hold_fd, const std::string& path,
                             const std::vector<std::string>& argv,
                             const std::vector<std::string>& env);

}  // namespace berth::runtime
