#include "base/error.h"

#include <cstring>

namespace berth {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kAlreadyExists:
      return "already_exists";
    case ErrorKind::kFailedPrecondition:
      return "failed_precondition";
    case ErrorKind::kPermissionDenied:
      return "permission_denied";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kSystem:
      return "system";
  }
  return "unknown";
}

Error& Error::wrap(std::string_view ctx) & {
  message_ = fmt::format("{}: {}", ctx, message_);
  return *this;
}

Error&& Error::wrap(std::string_view ctx) && {
  message_ = fmt::format("{}: {}", ctx, message_);
  return std::move(*this);
}

std::string Error::text() const {
  if (errno_ == 0) return message_;
  return fmt::format("{}: {}", message_, std::strerror(errno_));
}

}  // namespace berth
