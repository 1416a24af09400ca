#include <unistd.h>

#include "oci/spec.h"

namespace berth::oci {

using nlohmann::json;

json default_spec(bool rootless) {
  json caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json spec = {
      {"ociVersion", "1.2.0"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", json::array({"sh"})},
        {"env", json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                             "TERM=xterm"})},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth"},
      {"mounts",
       json::array({
           {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
           {{"destination", "/dev"},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", json::array({"nosuid", "strictatime", "mode=755", "size=65536k"})}},
           {{"destination", "/dev/pts"},
            {"type", "devpts"},
            {"source", "devpts"},
            {"options", json::array({"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                     "mode=0620", "gid=5"})}},
           {{"destination", "/dev/shm"},
            {"type", "tmpfs"},
            {"source", "shm"},
            {"options", json::array({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"})}},
           {{"destination", "/dev/mqueue"},
            {"type", "mqueue"},
            {"source", "mqueue"},
            {"options", json::array({"nosuid", "noexec", "nodev"})}},
           {{"destination", "/sys"},
            {"type", "sysfs"},
            {"source", "sysfs"},
            {"options", json::array({"nosuid", "noexec", "nodev", "ro"})}},
           {{"destination", "/sys/fs/cgroup"},
            {"type", "cgroup"},
            {"source", "cgroup"},
            {"options", json::array({"nosuid", "noexec", "nodev", "relatime", "ro"})}},
       })},
      {"linux",
       {{"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
        {"namespaces", json::array({{{"type", "pid"}},
                                    {{"type", "network"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "mount"}},
                                    {{"type", "cgroup"}}})},
        {"maskedPaths", json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                     "/proc/sched_debug", "/sys/firmware", "/proc/scsi"})},
        {"readonlyPaths",
         json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})}}},
  };
  if (rootless) {
    json& linux = spec["linux"];
    linux["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", getuid()}, {"size", 1}}});
    linux["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", getgid()}, {"size", 1}}});
    json ns = json::array();
    for (const auto& n : linux["namespaces"])
      if (n["type"] != "network") ns.push_back(n);
    ns.push_back({{"type", "user"}});
    linux["namespaces"] = ns;
    linux.erase("resources");
    // Without a network namespace sysfs cannot be mounted: bind the host's read-only.
    for (auto& m : spec["mounts"]) {
      if (m["destination"] == "/sys") {
        m = {{"destination", "/sys"},
             {"type", "none"},
             {"source", "/sys"},
             {"options", json::array({"rbind", "nosuid", "noexec", "nodev", "ro"})}};
      }
      if (m["destination"] == "/dev/pts") {
        json opts = json::array();
        for (const auto& o : m["options"])
          if (o != "gid=5") opts.push_back(o);
        m["options"] = opts;
      }
    }
  }
  return spec;
}

}  // namespace berth::oci
