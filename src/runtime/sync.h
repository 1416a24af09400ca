// The parent-child handshake of `create`: one typed message list over a SOCK_SEQPACKET
// socketpair. "parent" is berth-runtime, "stage1" the first child (joins and unshares
// namespaces), "init" the container's first process (the fork of stage1 in the new pid
// namespace, or stage1 itself when there is none).
//
//   parent -> stage1  kGo             the child is in its cgroup; go on
//   stage1 -> parent  kUsernsReady    value=pid: the user namespace exists, write its maps
//   parent -> stage1  kUsernsMapped
//   stage1 -> parent  kInitPid        value=pid of init (in the parent's pid namespace)
//   init   -> parent  kBeforePivot    mounts are done; run createRuntime hooks
//   parent -> init    kContinue
//   init   -> parent  kSeccompFd      carries the seccomp notify fd (SCM_RIGHTS) for the listener
//   init   -> parent  kReady          about to exec the helper that waits for `start`
//   any    -> either  kError          value=errno and kind (error_value), text=message
//
// After kReady the parent reads once more: end-of-file means the exec succeeded (the socket
// is close-on-exec); a kError means it did not.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::runtime::sync {

enum class Type : uint32_t {
  kGo = 1,
  kUsernsReady,
  kUsernsMapped,
  kInitPid,
  kBeforePivot,
  kContinue,
  kReady,
  kError,
  kSeccompFd,
};

struct Message {
  Type type;
  int64_t value = 0;
  std::string text;
  UniqueFd fd;  // a passed fd (kSeccompFd)
};

// pass_fd >= 0 is sent along with the message (SCM_RIGHTS).
Result<void> send(int fd, Type type, int64_t value = 0, std::string_view text = {},
                  int pass_fd = -1);
// Reads one message; not_found (kind) at end of file, when the peer closed its end.
Result<Message> recv(int fd);
// The value of a kError message: errno in the low 16 bits, the ErrorKind above them, so
// that the receiver's error keeps both (an executable that is not found stays kNotFound:
// the engine's exit code 127 depends on it).
int64_t error_value(const Error& e);
// The error a kError message carries.
Error error_from(const Message& m);
// Reads one message and checks its type; a kError from the peer becomes this call's error.
Result<Message> expect(int fd, Type type);

}  // namespace berth::runtime::sync
