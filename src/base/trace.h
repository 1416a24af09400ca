// Phase timing for performance work. With BERTH_TRACE set in the environment, every mark
// is kept (name and CLOCK_REALTIME) and the list goes to stderr when the process exits,
// in milliseconds since BERTH_TRACE's value when that is a time in nanoseconds since the
// epoch (so a caller can stamp the exec: BERTH_TRACE=$(date +%s%N)), else since the first
// mark. Without it a mark costs one branch. Names must be string literals.
#pragma once

namespace berth::trace {

void mark(const char* what);

}  // namespace berth::trace
