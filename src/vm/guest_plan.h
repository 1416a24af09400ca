// What the guest agent is told to set up, planned from config.json: the spec's mounts as
// guest mounts (kernel file systems mounted afresh in the guest; host directories shared
// with virtiofs; host files copied in), the process, hostname, sysctls, masked paths.
// Pure: the host file system is seen only through `classify`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"
#include "vm/protocol.h"

namespace berth::vm {

inline constexpr size_t kMaxCopiedFile = 1 << 20;  // a bind-mounted host file, copied in

// A host directory shared with the guest through one virtiofsd.
struct HostShare {
  std::string tag;  // "berth0" ...
  std::string source;
};

struct GuestPlan {
  proto::GuestConfig config;
  std::vector<HostShare> shares;
  // config.mounts[index] is a kFile mount whose content is read from this host file.
  std::vector<std::pair<size_t, std::string>> copied_files;
  std::vector<std::string> warnings;  // mounts that make no sense in a VM, skipped
};

enum class SourceKind { kMissing, kDirectory, kFile, kOther };
using Classifier = std::function<SourceKind(const std::string& host_path)>;
SourceKind classify_host_path(const std::string& host_path);  // stat(2)

Result<GuestPlan> plan_guest(const oci::Spec& spec, const std::string& bundle,
                             const Classifier& classify);

// Reads the copied files into the plan (at most kMaxCopiedFile each).
Result<void> load_copied_files(GuestPlan& plan);

}  // namespace berth::vm
