#include "runtime/process_attrs.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

#include "base/strings.h"

namespace berth::runtime {

Result<void> set_personality(const oci::Personality& p) {
  unsigned long dom;
  if (p.domain == "LINUX") {
    dom = PER_LINUX;
  } else if (p.domain == "LINUX32") {
    dom = PER_LINUX32;
  } else {
    return fail(invalid("linux.personality.domain: unknown domain {:?}", p.domain));
  }
  if (!p.flags.empty())
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.personality.flags: no flags are supported ({:?} given)",
                           p.flags.front()));
  if (::personality(dom) < 0) return fail(sys_error(errno, "linux.personality"));
  return {};
}

Result<void> set_io_priority(const oci::IoPriority& p) {
  static const std::map<std::string_view, int> kClasses = {
      {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};
  auto it = kClasses.find(p.klass);
  if (it == kClasses.end())
    return fail(invalid("process.ioPriority.class: unknown class {:?}", p.klass));
  if (p.priority < 0 || p.priority > 7)
    return fail(invalid("process.ioPriority.priority: {} is outside 0..7", p.priority));
  int value = (it->second << 13) | p.priority;
  if (::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) != 0)
    return fail(sys_error(errno, "process.ioPriority"));
  return {};
}

namespace {

struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

}  // namespace

Result<void> set_scheduler(const oci::Scheduler& s) {
  static const std::map<std::string_view, uint32_t> kPolicies = {
      {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
      {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_IDLE", SCHED_IDLE}, {"SCHED_DEADLINE", 6}};
  static const std::map<std::string_view, uint64_t> kFlags = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
      {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
      {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
  auto it = kPolicies.find(s.policy);
  if (it == kPolicies.end())
    return fail(invalid("process.scheduler.policy: unknown policy {:?}", s.policy));
  SchedAttr a{};
  a.size = sizeof a;
  a.sched_policy = it->second;
  for (const auto& f : s.flags) {
    auto fi = kFlags.find(f);
    if (fi == kFlags.end()) return fail(invalid("process.scheduler.flags: unknown flag {:?}", f));
    a.sched_flags |= fi->second;
  }
  a.sched_nice = s.nice;
  a.sched_priority = static_cast<uint32_t>(s.priority);
  a.sched_runtime = s.runtime;
  a.sched_deadline = s.deadline;
  a.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0)
    return fail(sys_error(errno, "process.scheduler ({})", s.policy));
  return {};
}

Result<void> set_cpu_affinity(const std::string& cpus, std::string_view what) {
  if (cpus.empty()) return {};
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const std::string& part : split(cpus, ',')) {
    std::string_view p = trim(part);
    size_t dash = p.find('-');
    auto lo = parse_uint(p.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : parse_uint(p.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi >= CPU_SETSIZE)
      return fail(invalid("{}: {:?} is not a CPU list like \"0-3,7\"", what, cpus));
    for (uint64_t c = *lo; c <= *hi; ++c) CPU_SET(c, &set);
  }
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    return fail(sys_error(errno, "{} {}", what, cpus));
  return {};
}

}  // namespace berth::runtime
