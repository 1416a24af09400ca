// The OCI state of a container (runtime.md "State") plus what berth-runtime keeps to manage
// it: the init process start time (to tell a live pid from a reused one), the cgroup, the
// rootfs and the creation time. Written atomically as state.json in the container's state dir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "base/result.h"

namespace berth::oci {

enum class Status { kCreating, kCreated, kRunning, kStopped, kPaused };
std::string_view status_name(Status s);

struct State {
  std::string oci_version = "1.2.0";
  std::string id;
  Status status = Status::kCreating;
  pid_t pid = 0;
  std::string bundle;
  std::map<std::string, std::string> annotations;
  // berth's own fields.
  uint64_t pid_start_time = 0;  // field 22 of /proc/PID/stat
  std::string rootfs;
  std::string cgroup_path;  // the cgroup, relative to each hierarchy's root
  std::string created;      // RFC 3339
  std::string owner;
  bool systemd_cgroup = false;
  std::string handler = "container";         // or "vm"
  std::map<std::string, std::string> extra;  // handler-specific values

  // The OCI state JSON (what `state` prints and hooks read on stdin).
  std::string oci_json(bool pretty) const;
  std::string to_json() const;
};

Result<State> parse_state(std::string_view json_text);

}  // namespace berth::oci
