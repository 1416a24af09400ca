// Shared pieces of the container verbs: opening the engine, durations for humans.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "cli/berth/app.h"
#include "engine/engine.h"

namespace berth::cli {

Result<std::unique_ptr<engine::Engine>> open_engine(const BerthGlobals& g);
// "5 seconds", "2 minutes", "3 hours", "4 days"
std::string human_duration(int64_t seconds);
// Docker's STATUS column: "Up 5 seconds (healthy)", "Exited (0) 2 minutes ago", "Created".
std::string status_text(const engine::Container& c);
std::string short_id(const std::string& id);
// `berth container inspect`'s JSON for one container.
nlohmann::json container_inspect_json(engine::Engine& e, const engine::Container& c);
// Size in B/kB/MB/GB with one decimal.
std::string human_size(int64_t bytes);

}  // namespace berth::cli
