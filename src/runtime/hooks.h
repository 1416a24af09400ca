// OCI hooks: each runs with the container state JSON on stdin, its own args and env, and an
// optional timeout; a failure is an error naming the hook and carrying its stderr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// Runs hooks in order; stops at the first that fails. phase names them in errors
// ("hooks.createRuntime[1]").
Result<void> run_hooks(const std::vector<oci::Hook>& hooks, std::string_view phase,
                       const std::string& state_json);

}  // namespace berth::runtime
