// dynlib for the static `berth` (see base/dynlib.h): linked into that binary ahead of
// libberth.a, so the archive's dlopen-based dynlib.cc is never pulled into it.
#include "base/dynlib.h"

namespace berth::dynlib {

bool loadable() { return false; }

Result<void*> open(const char* soname) {
  return fail(make_error(ErrorKind::kUnavailable,
                         "cannot load {}: this berth is linked statically (berth-dynamic, next "
                         "to it, does this work)",
                         soname));
}

Result<void> resolve(const char* soname, std::initializer_list<std::pair<const char*, void**>>) {
  return fail(open(soname).error());
}

}  // namespace berth::dynlib
