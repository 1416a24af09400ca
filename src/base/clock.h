// Wall-clock time as RFC 3339 text in UTC (state files, logs, records).
#pragma once

#include <cstdint>
#include <string>

namespace berth::clock {

// Nanoseconds since the epoch (CLOCK_REALTIME).
int64_t now_ns();
// "2026-11-23T03:49:19.939459854Z"
std::string rfc3339_nano(int64_t unix_ns);
std::string now_rfc3339_nano();
// "2026-11-23T03:49:19Z"
std::string rfc3339_seconds(int64_t unix_seconds);
std::string now_rfc3339_seconds();

}  // namespace berth::clock
