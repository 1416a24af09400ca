#include "cgroup/manager.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "cgroup/backends.h"

namespace berth::cgroup {

Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, std::string p) {
  switch (layout.mode) {
    case Mode::kV1: {
      auto m = std::make_unique<V1>(layout, p);
      BERTH_CHECK(m->open());
      return std::unique_ptr<Manager>(std::move(m));
    }
    case Mode::kV2: {
      auto m = std::make_unique<V2>(layout, p);
      BERTH_CHECK(m->open());
      return std::unique_ptr<Manager>(std::move(m));
    }
    case Mode::kHybrid: {
      auto m = std::make_unique<Hybrid>(layout, p);
      BERTH_CHECK(m->open());
      return std::unique_ptr<Manager>(std::move(m));
    }
  }
  return fail(make_error(ErrorKind::kInternal, "unknown cgroup layout"));
}

void remove_if_empty(const Layout& layout, std::string_view p) {
  for (const auto& h : layout.hierarchies) {
    auto d = fs::open_dir(h.mount_point, p, h.mount_root);
    if (d && !d->rel.empty()) ::unlinkat(d->root.get(), d->rel.c_str(), AT_REMOVEDIR);
  }
}

namespace {

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's slice nesting).
Result<std::string> expand_slice(std::string_view slice) {
  if (slice.size() < 6 || slice.substr(slice.size() - 6) != ".slice")
    return fail(invalid("cgroupsPath: {:?} is not a systemd slice name", slice));
  std::string_view name = slice.substr(0, slice.size() - 6);
  if (name == "-") return std::string("/");
  if (name.find('/') != std::string_view::npos || name.empty() || name.front() == '-' ||
      name.back() == '-' || name.find("--") != std::string_view::npos)
    return fail(invalid("cgroupsPath: {:?} is not a valid slice name", slice));
  std::string out, prefix;
  for (const std::string& part : split(name, '-')) {
    prefix = prefix.empty() ? part : prefix + "-" + part;
    out += "/" + prefix + ".slice";
  }
  return out;
}

}  // namespace

Result<std::string> resolve_path(const std::optional<std::string>& cgroups_path,
                                 std::string_view id, bool systemd, const Layout& layout) {
  if (systemd) {
    // slice:prefix:name; an empty slice means system.slice.
    std::string cp = cgroups_path.value_or("");
    std::vector<std::string> parts = split(cp, ':');
    if (cp.empty()) parts = {"system.slice", "berth", std::string(id)};
    if (parts.size() != 3)
      return fail(invalid("cgroupsPath: {:?} is not slice:prefix:name (--systemd-cgroup)", cp));
    std::string slice = parts[0].empty() ? "system.slice" : parts[0];
    std::string base = BERTH_TRY(expand_slice(slice));
    const std::string& name = parts[2];
    if (name.size() > 6 && name.substr(name.size() - 6) == ".slice") return expand_slice(name);
    std::string unit = (parts[1].empty() ? "" : parts[1] + "-") + name + ".scope";
    return path::clean(path::join(base, unit));
  }
  if (!cgroups_path || cgroups_path->empty()) return fmt::format("/berth/{}", id);
  const std::string& cp = *cgroups_path;
  if (cp.find(':') != std::string::npos && cp.front() != '/')
    return fail(invalid("cgroupsPath: {:?} is in systemd form; pass --systemd-cgroup", cp));
  if (path::is_absolute(cp)) return path::clean(cp);
  // Relative: below this process's own cgroup (the first hierarchy's view).
  std::string own = "/";
  for (const auto& h : layout.hierarchies) {
    if (!h.current.empty()) {
      own = h.current;
      break;
    }
  }
  std::string full = path::clean(path::join(own, cp));
  if (!path::is_within(own, full))
    return fail(invalid("cgroupsPath: {:?} leaves the runtime's own cgroup", cp));
  return full;
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t w) {
  if (w == 0) return 0;
  if (w < 10) w = 10;
  if (w > 1000) w = 1000;
  return 1 + (w - 10) * 9999 / 990;
}

Result<std::string> hugepage_size_name(std::string_view s) {
  // Accept "2MB", "1GB", "64KB" (the names the kernel uses in hugetlb.<size>.* files).
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  std::string_view unit = s.substr(i);
  if (i == 0 || (unit != "KB" && unit != "MB" && unit != "GB"))
    return fail(invalid("hugepageLimits: page size {:?} is not like \"2MB\"", s));
  return std::string(s);
}

}  // namespace berth::cgroup
