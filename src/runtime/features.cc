#include "runtime/features.h"

#include <sys/prctl.h>

#include "oci/spec.h"

namespace berth::runtime {

nlohmann::json features_json() {
  using nlohmann::json;
  json caps = json::array();
  for (int c = 0; c <= 63; ++c) {
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0) break;
    caps.push_back(oci::capability_name(c));
  }
  json mount_opts =
      json::array({"async",        "atime",      "bind",       "defaults",      "dev",
                   "diratime",     "dirsync",    "exec",       "lazytime",      "loud",
                   "mand",         "noatime",    "nodev",      "nodiratime",    "noexec",
                   "nolazytime",   "nomand",     "norelatime", "nostrictatime", "nosuid",
                   "nosymfollow",  "private",    "rbind",      "relatime",      "remount",
                   "ro",           "rprivate",   "rshared",    "rslave",        "runbindable",
                   "rw",           "shared",     "silent",     "slave",         "strictatime",
                   "suid",         "symfollow",  "sync",       "tmpcopyup",     "unbindable",
                   "rro",          "rrw",        "rnosuid",    "rsuid",         "rnodev",
                   "rdev",         "rnoexec",    "rexec",      "rnodiratime",   "rdiratime",
                   "rnosymfollow", "rsymfollow", "rnoatime",   "rstrictatime",  "rrelatime"});
  return {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks", json::array({"prestart", "createRuntime", "createContainer", "startContainer",
                             "poststart", "poststop"})},
      {"mountOptions", mount_opts},
      {"linux",
       {{"namespaces",
         json::array({"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"})},
        {"capabilities", caps},
        {"cgroup",
         {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations",
       {{"org.opencontainers.runtime-spec.features", "berth-runtime"},
        {"run.oci.berth.isolation", "container|vm"}}},
  };
}

}  // namespace berth::runtime
