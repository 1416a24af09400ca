#include "runtime/handler.h"

namespace berth::runtime {
namespace {

Error unsupported(std::string_view verb) {
  return make_error(ErrorKind::kUnavailable, "{} is not supported for this container's isolation",
                    verb);
}

}  // namespace

Result<int> Handler::exec(std::string_view, const ExecOptions&) {
  return fail(unsupported("exec"));
}
Result<void> Handler::pause(std::string_view) { return fail(unsupported("pause")); }
Result<void> Handler::resume(std::string_view) { return fail(unsupported("resume")); }
Result<void> Handler::update(std::string_view, const oci::Resources&) {
  return fail(unsupported("update"));
}
Result<std::vector<pid_t>> Handler::pids(std::string_view) { return fail(unsupported("ps")); }

Result<oci::State> start_unless_started(Handler& h, std::string_view id) {
  if (auto started = h.started_by_create(id)) return *started;
  oci::State st = BERTH_TRY(h.state(id));
  if (st.status != oci::Status::kCreated) return st;
  if (auto r = h.start(id); !r) {
    (void)h.remove(id, true);
    return fail(std::move(r.error()));
  }
  return st;
}

}  // namespace berth::runtime
