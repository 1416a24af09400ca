#include "runtime/bundle.h"

#include <limits.h>
#include <stdlib.h>

#include "base/file.h"
#include "base/path.h"

namespace berth::runtime {

Result<Bundle> load_bundle(const std::string& bundle) {
  Bundle b;
  char real[PATH_MAX];
  std::string dir = bundle.empty() ? "." : bundle;
  if (!::realpath(dir.c_str(), real))
    return fail(Error(ErrorKind::kNotFound, fmt::format("bundle {}", dir), errno));
  b.dir = real;
  auto text = file::read(path::join(b.dir, "config.json"));
  if (!text) {
    if (text.error().sys_errno() == ENOENT)
      return fail(make_error(ErrorKind::kNotFound, "bundle {} has no config.json", b.dir));
    return fail(std::move(text.error()));
  }
  b.config_text = std::move(*text);
  b.spec = BERTH_TRY(oci::parse_spec(b.config_text));
  BERTH_CHECK(oci::validate(b.spec));
  return b;
}

}  // namespace berth::runtime
