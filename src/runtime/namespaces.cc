#include "runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "base/file.h"
#include "base/unique_fd.h"

namespace berth::runtime {

int new_namespace_flags(const oci::Linux& l) {
  int flags = 0;
  for (const auto& ns : l.namespaces)
    if (ns.path.empty()) flags |= oci::ns_clone_flag(ns.type);
  return flags;
}

bool needs_fork(const oci::Linux& l) {
  return l.find_namespace(oci::NsType::kPid) || l.find_namespace(oci::NsType::kTime);
}

bool direct_clone_ok(const oci::Linux& l) {
  for (const auto& ns : l.namespaces) {
    if (ns.type == oci::NsType::kUser || ns.type == oci::NsType::kTime) return false;
    // Joined by the init itself with setns right after the clone (the engine's network).
    bool joinable = ns.type == oci::NsType::kNetwork || ns.type == oci::NsType::kIpc ||
                    ns.type == oci::NsType::kUts;
    if (!ns.path.empty() && !joinable) return false;
  }
  return true;
}

Result<void> join_namespaces(const oci::Linux& l) {
  // The user namespace first: joining it gives the capabilities over the namespaces it owns.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& ns : l.namespaces) {
      if (ns.path.empty()) continue;
      bool user = ns.type == oci::NsType::kUser;
      if ((pass == 0) != user) continue;
      UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd)
        return fail(sys_error(errno, "linux.namespaces: open {} namespace {}",
                              oci::ns_type_name(ns.type), ns.path));
      if (::setns(fd.get(), oci::ns_clone_flag(ns.type)) != 0)
        return fail(sys_error(errno, "linux.namespaces: join {} namespace {}",
                              oci::ns_type_name(ns.type), ns.path));
    }
  }
  return {};
}

namespace {

std::string format_map(const std::vector<oci::IdMapping>& m) {
  std::string out;
  for (const auto& e : m) out += fmt::format("{} {} {}\n", e.container_id, e.host_id, e.size);
  return out;
}

}  // namespace

Result<void> write_id_mappings(pid_t pid, const oci::Linux& l) {
  std::string base = fmt::format("/proc/{}/", pid);
  // As root (CAP_SETGID in the parent namespace) setgroups may stay allowed; unprivileged
  // callers must deny it before writing gid_map.
  if (geteuid() != 0) BERTH_CHECK(file::write(base + "setgroups", "deny"));
  BERTH_CHECK_CTX(file::write(base + "uid_map", format_map(l.uid_mappings)), "linux.uidMappings");
  BERTH_CHECK_CTX(file::write(base + "gid_map", format_map(l.gid_mappings)), "linux.gidMappings");
  return {};
}

Result<void> write_time_offsets(const oci::Linux& l) {
  if (l.time_offsets.empty()) return {};
  std::string text;
  for (const auto& [clock, off] : l.time_offsets)
    text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  BERTH_CHECK_CTX(file::write("/proc/self/timens_offsets", text), "linux.timeOffsets");
  return {};
}

}  // namespace berth::runtime
