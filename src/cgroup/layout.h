// The host's cgroup layout, found at run time: v1 (one hierarchy per controller set), v2
// (one unified hierarchy) or hybrid (v1 hierarchies plus a cgroup2 mount that holds some
// controllers, as on this project's CI machine).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::cgroup {

enum class Mode { kV1, kV2, kHybrid };
std::string_view mode_name(Mode m);

struct Hierarchy {
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::string mount_root;                // root of the mount within the hierarchy ("/")
  std::vector<std::string> controllers;  // {"cpu"}, {"name=systemd"}; v2: enabled at the root
  bool unified = false;                  // a cgroup2 hierarchy
  std::string current;                   // this process's cgroup in it (/proc/self/cgroup)

  bool has(std::string_view controller) const;
};

struct Layout {
  Mode mode = Mode::kV1;
  std::vector<Hierarchy> hierarchies;

  const Hierarchy* find(std::string_view controller) const;  // the v1 hierarchy, or unified
  const Hierarchy* unified() const;
};

// Reads /proc/self/mountinfo, /proc/self/cgroup and the unified root's cgroup.controllers.
Result<Layout> detect_layout();  // cached for the life of the process
Result<Layout> read_layout();    // read now
// The same from text (unit tests). unified_controllers: the cgroup2 root's controllers.
Result<Layout> parse_layout(std::string_view mountinfo, std::string_view proc_cgroup,
                            std::string_view unified_controllers);

}  // namespace berth::cgroup
