// Mount plans: config.json mounts turned into pure values (flags, data, kind) before any
// system call, so the translation is unit-tested on its own. mounts.cc applies a plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_* flags to set on mount(2)
  unsigned long cleared = 0;      // MS_* flags the options asked to clear ("rw", "suid" ...)
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, maybe | MS_REC
  uint64_t attr_set = 0;          // MOUNT_ATTR_* to set recursively ("rro", "rnosuid" ...)
  uint64_t attr_clr = 0;          // MOUNT_ATTR_* to clear recursively ("rrw" ...)
  bool bind = false;
  bool recursive = false;  // rbind
  bool tmpcopyup = false;  // copy the image's content into a fresh tmpfs
  bool idmap = false;      // idmap / ridmap
  std::string data;        // file-system options: "mode=755,size=65536k"
};

enum class MountKind { kBind, kProc, kSysfs, kTmpfs, kDevpts, kMqueue, kCgroup, kOther };

struct PlannedMount {
  std::string source;
  std::string destination;
  std::string type;
  MountKind kind = MountKind::kOther;
  MountOptions opts;
  // Flags that need a second, remount call (a bind mount takes only MS_BIND|MS_REC first).
  bool needs_remount() const;
};

MountOptions parse_mount_options(const std::vector<std::string>& options);
// Plans every mount of the spec, in order. Errors name the mount at fault.
Result<std::vector<PlannedMount>> plan_mounts(const oci::Spec& spec);
// MS_* propagation flags for a rootfsPropagation value ("" gives MS_REC|MS_SLAVE).
unsigned long root_propagation_flags(std::string_view value);

}  // namespace berth::runtime
