#include "runtime/mount_plan.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <map>

#include "base/path.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace berth::runtime {
namespace {

struct FlagOpt {
  bool clear;
  unsigned long flag;
};

const std::map<std::string_view, FlagOpt>& flag_options() {
  static const std::map<std::string_view, FlagOpt> kOpts = {
      {"defaults", {false, 0}},
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},
      {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},
      {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}},
      {"nomand", {true, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}},
      {"atime", {true, MS_NOATIME}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"diratime", {true, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}},
      {"lazytime", {false, MS_LAZYTIME}},
      {"nolazytime", {true, MS_LAZYTIME}},
      {"nosymfollow", {false, MS_NOSYMFOLLOW}},
      {"symfollow", {true, MS_NOSYMFOLLOW}},
      {"silent", {false, MS_SILENT}},
      {"loud", {true, MS_SILENT}},
  };
  return kOpts;
}

const std::map<std::string_view, unsigned long>& propagation_options() {
  static const std::map<std::string_view, unsigned long> kOpts = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return kOpts;
}

struct AttrOpt {
  bool clear;
  uint64_t attr;
};

const std::map<std::string_view, AttrOpt>& recursive_options() {
  static const std::map<std::string_view, AttrOpt> kOpts = {
      {"rro", {false, MOUNT_ATTR_RDONLY}},
      {"rrw", {true, MOUNT_ATTR_RDONLY}},
      {"rnosuid", {false, MOUNT_ATTR_NOSUID}},
      {"rsuid", {true, MOUNT_ATTR_NOSUID}},
      {"rnodev", {false, MOUNT_ATTR_NODEV}},
      {"rdev", {true, MOUNT_ATTR_NODEV}},
      {"rnoexec", {false, MOUNT_ATTR_NOEXEC}},
      {"rexec", {true, MOUNT_ATTR_NOEXEC}},
      {"rnodiratime", {false, MOUNT_ATTR_NODIRATIME}},
      {"rdiratime", {true, MOUNT_ATTR_NODIRATIME}},
      {"rnosymfollow", {false, MOUNT_ATTR_NOSYMFOLLOW}},
      {"rsymfollow", {true, MOUNT_ATTR_NOSYMFOLLOW}},
      {"rnoatime", {false, MOUNT_ATTR_NOATIME}},
      {"rstrictatime", {false, MOUNT_ATTR_STRICTATIME}},
      {"rrelatime", {false, MOUNT_ATTR_RELATIME}},
  };
  return kOpts;
}

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions o;
  std::vector<std::string> data;
  for (const std::string& opt : options) {
    if (auto it = flag_options().find(opt); it != flag_options().end()) {
      if (it->second.clear) {
        o.flags &= ~it->second.flag;
        o.cleared |= it->second.flag;
      } else {
        o.flags |= it->second.flag;
        o.cleared &= ~it->second.flag;
      }
    } else if (auto p = propagation_options().find(opt); p != propagation_options().end()) {
      o.propagation = p->second;
    } else if (auto r = recursive_options().find(opt); r != recursive_options().end()) {
      uint64_t attr = r->second.attr;
      if (opt == "rnoatime" || opt == "rstrictatime" || opt == "rrelatime") {
        // The atime attributes are one field (relatime is 0): setting one replaces it.
        o.attr_clr |= MOUNT_ATTR__ATIME;
        o.attr_set = (o.attr_set & ~static_cast<uint64_t>(MOUNT_ATTR__ATIME)) | attr;
      } else if (r->second.clear) {
        o.attr_clr |= attr;
        o.attr_set &= ~attr;
      } else {
        o.attr_set |= attr;
        o.attr_clr &= ~attr;
      }
    } else if (opt == "bind") {
      o.bind = true;
    } else if (opt == "rbind") {
      o.bind = true;
      o.recursive = true;
    } else if (opt == "tmpcopyup") {
      o.tmpcopyup = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      o.idmap = true;
    } else if (opt.rfind("x-", 0) == 0) {
      // User-space options (x-systemd.*, x-podman.*): not for the kernel.
    } else {
      data.push_back(opt);
    }
  }
  for (size_t i = 0; i < data.size(); ++i) {
    if (i) o.data.push_back(',');
    o.data += data[i];
  }
  return o;
}

bool PlannedMount::needs_remount() const {
  if (kind != MountKind::kBind) return false;
  unsigned long extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT | MS_SILENT);
  return extra != 0 || opts.cleared != 0;
}

Result<std::vector<PlannedMount>> plan_mounts(const oci::Spec& spec) {
  std::vector<PlannedMount> out;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const oci::Mount& m = spec.mounts[i];
    PlannedMount pm;
    pm.source = m.source;
    pm.destination = path::clean(m.destination);
    pm.type = m.type;
    pm.opts = parse_mount_options(m.options);
    std::string_view t = m.type;
    if (t == "bind" || pm.opts.bind) {
      pm.kind = MountKind::kBind;
      pm.opts.bind = true;
      if (m.source.empty())
        return fail(invalid("mounts[{}] ({}): a bind mount needs a source", i, m.destination));
    } else if (t == "proc") {
      pm.kind = MountKind::kProc;
    } else if (t == "sysfs") {
      pm.kind = MountKind::kSysfs;
    } else if (t == "tmpfs") {
      pm.kind = MountKind::kTmpfs;
    } else if (t == "devpts") {
      pm.kind = MountKind::kDevpts;
    } else if (t == "mqueue") {
      pm.kind = MountKind::kMqueue;
    } else if (t == "cgroup" || t == "cgroup2") {
      pm.kind = MountKind::kCgroup;
    } else if (t.empty() || t == "none") {
      return fail(invalid("mounts[{}] ({}): no type and not a bind mount", i, m.destination));
    } else {
      pm.kind = MountKind::kOther;
    }
    if (pm.opts.tmpcopyup && pm.kind != MountKind::kTmpfs)
      return fail(invalid("mounts[{}] ({}): tmpcopyup needs a tmpfs mount", i, m.destination));
    if (pm.destination == "/")
      return fail(invalid("mounts[{}]: cannot mount over the container's root", i));
    if (pm.opts.bind) pm.opts.flags |= MS_BIND | (pm.opts.recursive ? MS_REC : 0);
    out.push_back(std::move(pm));
  }
  return out;
}

unsigned long root_propagation_flags(std::string_view value) {
  if (value.empty()) return MS_REC | MS_SLAVE;
  auto it = propagation_options().find(value);
  return it == propagation_options().end() ? (MS_REC | MS_SLAVE) : it->second;
}

}  // namespace berth::runtime
