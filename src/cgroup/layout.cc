#include "cgroup/layout.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"

namespace berth::cgroup {

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kV1:
      return "v1";
    case Mode::kV2:
      return "v2";
    case Mode::kHybrid:
      return "hybrid";
  }
  return "?";
}

bool Hierarchy::has(std::string_view c) const {
  return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
}

const Hierarchy* Layout::find(std::string_view controller) const {
  for (const auto& h : hierarchies)
    if (!h.unified && h.has(controller)) return &h;
  for (const auto& h : hierarchies)
    if (h.unified && h.has(controller)) return &h;
  return nullptr;
}

const Hierarchy* Layout::unified() const {
  for (const auto& h : hierarchies)
    if (h.unified) return &h;
  return nullptr;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto v = parse_uint(s.substr(i + 1, 3), 8);
      if (v) {
        out.push_back(static_cast<char>(*v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Result<Layout> parse_layout(std::string_view mountinfo, std::string_view proc_cgroup,
                            std::string_view unified_controllers) {
  Layout layout;
  for (const std::string& line : split(mountinfo, '\n')) {
    if (line.empty()) continue;
    // id parent major:minor root mount-point options [optional...] - fstype source super-opts
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = split(line.substr(0, dash), ' ');
    std::vector<std::string> post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    const std::string& fstype = post[0];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    Hierarchy h;
    h.mount_root = unescape(pre[3]);
    h.mount_point = unescape(pre[4]);
    h.unified = fstype == "cgroup2";
    if (h.unified) {
      for (const std::string& c : split(trim(unified_controllers), ' '))
        if (!c.empty()) h.controllers.push_back(c);
    } else {
      for (const std::string& o : split(post[2], ',')) {
        if (o == "rw" || o == "ro" || o == "clone_children" || o == "noprefix" ||
            o.rfind("release_agent=", 0) == 0 || o == "xattr" || o == "cpuset_v2_mode" ||
            o == "nsdelegate" || o == "memory_recursiveprot")
          continue;
        h.controllers.push_back(o);
      }
      if (h.controllers.empty()) continue;
    }
    // One entry per hierarchy: the first mount wins (later ones are bind mounts of it).
    bool dup = false;
    for (const auto& e : layout.hierarchies)
      if (e.unified == h.unified && e.controllers == h.controllers) dup = true;
    if (!dup) layout.hierarchies.push_back(std::move(h));
  }
  // /proc/self/cgroup: "hierarchy-id:controller-list:path"; v2 is "0::path".
  for (const std::string& line : split(proc_cgroup, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string cg = line.substr(b + 1);
    for (auto& h : layout.hierarchies) {
      if (h.unified ? ctrls.empty() : (!ctrls.empty() && split(ctrls, ',') == h.controllers))
        h.current = cg;
    }
  }
  bool v1 = false, v2 = false;
  for (const auto& h : layout.hierarchies) (h.unified ? v2 : v1) = true;
  if (!v1 && !v2)
    return fail(make_error(ErrorKind::kUnavailable, "no cgroup file system is mounted"));
  layout.mode = v1 && v2 ? Mode::kHybrid : (v2 ? Mode::kV2 : Mode::kV1);
  return layout;
}

Result<Layout> detect_layout() {
  // Once per process: one invocation needs it in several verbs (run = create, start and
  // delete), and each read of mountinfo makes the kernel format every mount. The host's
  // cgroup mounts do not change under a running berth.
  static std::mutex mu;
  static std::optional<Layout> cached;
  std::lock_guard lock(mu);
  if (cached) return *cached;
  cached = BERTH_TRY(read_layout());
  return *cached;
}

Result<Layout> read_layout() {
  std::string mountinfo = BERTH_TRY(file::read("/proc/self/mountinfo"));
  std::string cg = BERTH_TRY(file::read("/proc/self/cgroup"));
  // Find the unified mount point to read its controllers.
  std::string ctrls;
  Layout probe = BERTH_TRY(parse_layout(mountinfo, cg, ""));
  if (const Hierarchy* u = probe.unified()) {
    auto c = file::read(path::join(u->mount_point, "cgroup.controllers"));
    if (c) ctrls = *c;
  }
  return parse_layout(mountinfo, cg, ctrls);
}

}  // namespace berth::cgroup
