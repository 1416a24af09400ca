// The VM monitor: the process that owns one VM from `create` to its end. Forked by the VM
// handler's create, it outlives berth-runtime (like a container's init does) and holds
// everything the VM is made of: QEMU and the virtiofsd processes (its children, killed by
// PR_SET_PDEATHSIG if the monitor dies), the agent's control port, QMP, the container's
// stdio (inherited from create) and the control socket the other verbs talk to
// (control.h). When the guest process exits it flushes the output, acknowledges the exit
// record, stops QEMU, removes its sockets, records the exit code and exits with it.
#pragma once

#include <string>
#include <vector>

#include "vm/guest_plan.h"
#include "vm/protocol.h"
#include "vm/qemu_argv.h"

namespace berth::vm {

inline constexpr const char* kExitCodeFile = "exit-code";  // written before the monitor exits
inline constexpr const char* kPidsFile = "vm-pids";        // "<pid> <start time>" of each helper
inline constexpr const char* kConsoleLog = "console.log";
inline constexpr const char* kQemuLog = "qemu.log";
inline constexpr const char* kMonitorLog = "monitor.log";

struct MonitorConfig {
  std::string id;
  std::string state_dir;
  QemuPlan qemu;  // without its fds: the monitor makes the sockets
  std::vector<HostShare> shares;
  std::string virtiofsd;
  proto::GuestConfig guest;
  int netns_fd = -1;   // QEMU runs in this network namespace (its tap is there)
  int report_fd = -1;  // to create: "ready" or "error <text>"; from create: "done"
  int tty_fd = -1;     // with a terminal: the host side of the pty (its slave)
  int boot_timeout_ms = 180000;
  // The process starts as soon as it is set up (kStart goes with the config), and create
  // hears "running" instead of "ready": `run`'s start without a round trip.
  bool start_at_once = false;
};

// Runs the monitor in this (freshly forked) process; exits with the guest process's exit
// code (128+signal when it was killed, 255 when the VM failed).
[[noreturn]] void run_monitor(MonitorConfig cfg);

}  // namespace berth::vm
