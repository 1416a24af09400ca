// libnftables, wrapped: run an nft script as one transaction, list state as JSON. The library
// is called in-process (no nft binary); its output and errors are captured in buffers.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace berth::net::nft {

// Runs script (several commands) as one atomic transaction in the caller's network namespace.
Result<void> run(const std::string& script);
// Runs a list command ("list ruleset") and returns its JSON output.
Result<std::string> list_json(const std::string& command);
// The kernel's ruleset generation: it changes with every change to any nftables table, by
// anyone. Asked over netlink directly (no libnftables load).
Result<uint32_t> generation();
// What identifies `table ip NAME` as the kernel holds it: its handle and its rules' chains and
// handles ("table 7 forward:12 postrouting:15 ..."); empty when the table is absent. Handles
// are never reused in a table's life, so a table deleted and made again, or a rule added or
// removed, changes it. Over netlink directly, ~0.1 ms.
Result<std::string> table_fingerprint(const std::string& name);
// True when `table ip NAME` exists.
Result<bool> table_exists(const std::string& name);

}  // namespace berth::net::nft
