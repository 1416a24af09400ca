#include "oci/state.h"

#include <nlohmann/json.hpp>

#include "oci/json_read.h"

namespace berth::oci {

using nlohmann::json;

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kStopped:
      return "stopped";
    case Status::kPaused:
      return "paused";
  }
  return "unknown";
}

namespace {

json oci_object(const State& s) {
  json j = {{"ociVersion", s.oci_version},
            {"id", s.id},
            {"status", status_name(s.status)},
            {"pid", s.status == Status::kStopped ? 0 : s.pid},
            {"bundle", s.bundle}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

}  // namespace

std::string State::oci_json(bool pretty) const {
  json j = oci_object(*this);
  // runc prints these too; podman and containerd read "created" and "rootfs".
  j["rootfs"] = rootfs;
  j["created"] = created;
  j["owner"] = owner;
  return pretty ? j.dump(2) : j.dump();
}

std::string State::to_json() const {
  json j = oci_object(*this);
  j["pid"] = pid;
  j["berth"] = {{"pidStartTime", pid_start_time},
                {"rootfs", rootfs},
                {"cgroupPath", cgroup_path},
                {"created", created},
                {"owner", owner},
                {"systemdCgroup", systemd_cgroup},
                {"handler", handler},
                {"extra", extra}};
  return j.dump();
}

Result<State> parse_state(std::string_view text) {
  return jr::parse_with(text, "state.json", [](const jr::Obj& o) {
    State s;
    s.oci_version = o.string("ociVersion");
    s.id = o.string("id", true);
    std::string st = o.string("status");
    for (Status v :
         {Status::kCreating, Status::kCreated, Status::kRunning, Status::kStopped, Status::kPaused})
      if (status_name(v) == st) s.status = v;
    s.pid = static_cast<pid_t>(o.i64("pid"));
    s.bundle = o.string("bundle");
    s.annotations = o.string_map("annotations");
    if (auto b = o.object("berth")) {
      s.pid_start_time = b->u64("pidStartTime");
      s.rootfs = b->string("rootfs");
      s.cgroup_path = b->string("cgroupPath");
      s.created = b->string("created");
      s.owner = b->string("owner");
      s.systemd_cgroup = b->boolean("systemdCgroup");
      s.handler = b->string("handler", false, "container");
      s.extra = b->string_map("extra");
    }
    return s;
  });
}

}  // namespace berth::oci
