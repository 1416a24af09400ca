// Error values that cross every layer of berth.
//
// An Error carries a kind (a few kinds cross layers, like containerd's errdefs), the errno that
// caused it (0 if none) and a message that names the operation and the object. Going up the
// stack, callers add context with wrap(): "create container c1: mount /proc: Permission denied".
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace berth {

enum class ErrorKind {
  kInternal,            // a bug or an unexpected system failure
  kInvalidArgument,     // bad input from the user or a config file
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the named thing exists already
  kFailedPrecondition,  // the thing is in the wrong state for the operation
  kPermissionDenied,    // not allowed
  kUnavailable,         // a host feature or tool is missing
  kSystem,              // a system call failed (see errno)
};

std::string_view kind_name(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message, int err = 0)
      : kind_(kind), errno_(err), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

  // Adds context in front of the message: "ctx: message".
  Error& wrap(std::string_view ctx) &;
  Error&& wrap(std::string_view ctx) &&;

  // The full one-line text, with strerror appended when an errno is set.
  std::string text() const;

 private:
  ErrorKind kind_;
  int errno_;
  std::string message_;
};

// Builds an error from the current errno: sys_error("mount {}", target).
template <typename... Args>
Error sys_error(int err, fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kSystem, fmt::format(f, std::forward<Args>(args)...), err);
}

template <typename... Args>
Error make_error(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  return Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
Error invalid(fmt::format_string<Args...> f, Args&&... args) {
  return Error(ErrorKind::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace berth
