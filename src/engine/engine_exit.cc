#include "engine/engine_exit.h"

#include <errno.h>

namespace berth::engine {

int exit_code_for(const Error& e) {
  std::string_view m = e.message();
  if (m.find("process.args") != std::string_view::npos ||
      m.find("exec") != std::string_view::npos) {
    if (e.kind() == ErrorKind::kNotFound || e.sys_errno() == ENOENT) return 127;
    if (e.kind() == ErrorKind::kPermissionDenied || e.sys_errno() == EACCES ||
        e.sys_errno() == ENOEXEC || e.sys_errno() == EPERM)
      return 126;
  }
  return 125;
}

}  // namespace berth::engine
