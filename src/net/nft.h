// libnftables, wrapped: run an nft script as one transaction, list state as JSON. The library
// is called in-process (no nft binary); its output and errors are captured in buffers.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::net::nft {

// Runs script (several commands) as one atomic transaction in the caller's network namespace.
Result<void> run(const std::string& script);
// Runs a list command ("list ruleset") and returns its JSON output.
Result<std::string> list_json(const std::string& command);
// True when `table ip NAME` exists.
Result<bool> table_exists(const std::string& name);

}  // namespace berth::net::nft
