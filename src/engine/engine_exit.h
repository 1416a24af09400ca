// Exit codes for berth's own failures, shared by berth and berth-monitor.
#pragma once

#include "base/error.h"

namespace berth::engine {

// 127: the command was not found; 126: it cannot be executed; 125: anything else.
int exit_code_for(const Error& e);

}  // namespace berth::engine
