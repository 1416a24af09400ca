// Facts about a process read from /proc: start time (to tell a live pid from a reused one)
// and whether it is gone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace berth::runtime {

struct ProcStat {
  char state = '?';
  uint64_t start_time = 0;  // clock ticks since boot (field 22)
};

std::optional<ProcStat> read_proc_stat(pid_t pid);
// True when pid runs (not a zombie) and, if start_time is non-zero, started then.
bool process_alive(pid_t pid, uint64_t start_time);

}  // namespace berth::runtime
