// The VM monitor's control socket (monitor.sock in the container's state dir): how
// `start`, `kill`, `wait` and `delete` reach the process that owns a VM. One request line,
// one reply line:
//   start              -> ok | error <text>        (after the guest's exec)
//   kill <sig> <0|1>   -> ok | error <text>        (1: every process in the guest)
//   wait [attach]      -> exit <code>               (when the process has exited and the VM
//                                                    is gone; an attached waiter that
//                                                    disconnects first stops the VM)
//   pause | resume     -> ok | error <text>        (QMP stop / cont: the whole VM freezes)
//   shutdown           -> (the connection closes when the monitor has cleaned up and exits)
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::vm::control {

inline constexpr const char* kSocketName = "monitor.sock";

Result<UniqueFd> connect(const std::string& socket_path);
Result<void> send_line(int fd, const std::string& line);
// One line without its newline; kNotFound at end of file; timeout_ms < 0 waits forever.
Result<std::string> read_line(int fd, int timeout_ms);
// connect + send_line + read_line.
Result<std::string> request(const std::string& socket_path, const std::string& line,
                            int timeout_ms);

// Sends fd over a unix socket (SCM_RIGHTS), as runc sends a pty master to --console-socket.
Result<void> send_fd(int sock, int fd);

}  // namespace berth::vm::control
