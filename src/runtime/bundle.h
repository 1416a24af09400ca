// Reading an OCI bundle: its config.json, parsed and validated.
#pragma once

#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// bundle: a directory ("" means the current one). Returns the absolute bundle path and spec.
struct Bundle {
  std::string dir;
  std::string config_text;
  oci::Spec spec;
};
Result<Bundle> load_bundle(const std::string& bundle);

}  // namespace berth::runtime
