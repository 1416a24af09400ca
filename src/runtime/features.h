// The `features` document of features.md: what this runtime supports.
#pragma once

#include <nlohmann/json.hpp>

namespace berth::runtime {

nlohmann::json features_json();

}  // namespace berth::runtime
