// Terminals: the pty of a container with process.terminal, its master sent over the
// --console-socket as runc does (SCM_RIGHTS), and the relay berth-runtime runs itself when
// asked for a terminal in the foreground without a console socket.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/spec.h"

namespace berth::runtime {

Result<UniqueFd> connect_unix(const std::string& path);
Result<void> send_fd(int sock, int fd, std::string_view payload = "pty");
Result<UniqueFd> recv_fd(int sock);

// In the container, after its devpts is mounted and the root entered: opens a pty from
// /dev/ptmx, sizes it, binds the slave over /dev/console, sends the master to console_sock
// and makes the slave this process's controlling terminal and stdio.
Result<void> setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size);

// Copies between this process's stdin/stdout and a pty master until the master hangs up
// (the container's processes closed it). Puts a terminal stdin in raw mode meanwhile and
// forwards window size changes.
void relay_console(int master);

// Writes all n bytes (retrying short writes and EINTR); false on an error.
bool write_all(int fd, const char* p, size_t n);

}  // namespace berth::runtime
