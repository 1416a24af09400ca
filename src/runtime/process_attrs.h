// process.* attributes beyond identity: personality, ioPriority, scheduler, execCPUAffinity.
#pragma once

#include <string>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

Result<void> set_personality(const oci::Personality& p);
Result<void> set_io_priority(const oci::IoPriority& p);
Result<void> set_scheduler(const oci::Scheduler& s);
// A CPU list ("0-3,7") as the affinity of this process.
Result<void> set_cpu_affinity(const std::string& cpus, std::string_view what);

}  // namespace berth::runtime
