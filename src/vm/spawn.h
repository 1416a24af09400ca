// Starting the helper processes of a VM (QEMU, virtiofsd, mkfs.ext4): fork and exec with a
// chosen set of inherited fds, stdio redirected, and tied to the parent's life.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::vm {

struct SpawnSpec {
  std::vector<std::string> argv;
  std::vector<std::pair<int, int>> fds;  // (fd here, fd number in the child), all others close
  int stdin_fd = -1;                     // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool die_with_parent = true;  // PR_SET_PDEATHSIG(SIGKILL)
  int netns_fd = -1;            // setns(CLONE_NEWNET) before the exec
};

// The child's pid; an exec failure is reported as an error (through a close-on-exec pipe).
Result<pid_t> spawn(const SpawnSpec& s);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs argv to completion.
Result<CommandResult> run_command(const std::vector<std::string>& argv);

// Start time of a process (field 22 of /proc/PID/stat), 0 when it is gone.
uint64_t start_time_of(pid_t pid);

}  // namespace berth::vm
