// berth-agent: /init of the guest's initramfs. It loads the virtio modules, opens the
// control port, sets up the container's root and mounts as the host asks, runs the
// container process, relays its stdio and signals, reports its exit status and powers the
// guest off once the host has acknowledged that report. One concern per file:
//   boot.cc     first mounts, modules, the control port
//   mounts.cc   the container's root file system and mounts
//   network.cc  the guest's network interface
//   process.cc  the container process
//   relay.cc    the frame loop
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "vm/protocol.h"

namespace berth::vm::agent {

// The only signals whose disposition the agent changes (to SIG_IGN; it catches none, so
// exec resets nothing else): the container process puts these back to the default.
inline constexpr int kAgentIgnoredSignals[] = {SIGPIPE};

// Prints a diagnostic line on the serial console (the host keeps it in console.log).
void say(const std::string& msg);
// CLOCK_BOOTTIME in milliseconds: the guest's uptime, for the timing lines sent to the host.
int64_t uptime_ms();

// boot.cc
void early_mounts();
std::string cmdline_value(std::string_view key);  // berth.modules=... from /proc/cmdline
// times (if given) gets "name ms, ..." per module, for the boot timing line.
Result<void> load_modules(const std::vector<std::string>& names, std::string* times = nullptr);
// Waits for the virtio-serial port with this name and opens it.
Result<UniqueFd> open_port(std::string_view name, int timeout_ms);

// mounts.cc: mounts /dev/vda, enters it as the root, makes every mount of the config.
Result<void> setup_root(const proto::GuestConfig& c);
// Writes back what the guest cached for the host's shared directories (virtiofs), so that
// the host may stop the VM as soon as it has the exit record.
void sync_shared();

// network.cc: lo up; the NIC with c.net.mac configured when c.net.address is set.
Result<void> setup_network(const proto::GuestNet& n);

// process.cc
struct Child {
  pid_t pid = -1;
  UniqueFd stdin_w;   // the process's stdin (or the pty master, dup'd)
  UniqueFd stdout_r;  // its stdout (or the pty master)
  UniqueFd stderr_r;  // its stderr (none with a terminal)
  UniqueFd go_w;      // one byte: exec now
  UniqueFd status_r;  // 'X'+message if the exec failed; end of file once it succeeded
  bool terminal = false;
};
// Forks the process, sets it up (user, rlimits, capabilities, cwd) and leaves it waiting.
Result<Child> spawn_process(const proto::GuestProcess& p);
// Lets it exec; returns once the exec succeeded or failed.
Result<void> start_process(Child& c);

// relay.cc: the whole session after the port is open. Returns when the guest may power off.
// `timing` goes to the host as a kLog line.
void run_session(int port, const std::string& timing);

int main();

}  // namespace berth::vm::agent
