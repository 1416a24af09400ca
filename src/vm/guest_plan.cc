#include "vm/guest_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/path.h"
#include "runtime/mount_plan.h"

namespace berth::vm {

SourceKind classify_host_path(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return SourceKind::kMissing;
  if (S_ISDIR(st.st_mode)) return SourceKind::kDirectory;
  if (S_ISREG(st.st_mode)) return SourceKind::kFile;
  return SourceKind::kOther;
}

namespace {

// Only what a guest mount(2) understands: the per-mount flags, no propagation.
uint64_t guest_flags(const runtime::MountOptions& o) {
  constexpr unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
                                 MS_DIRSYNC | MS_LAZYTIME;
  return o.flags & keep;
}

proto::GuestProcess plan_process(const oci::Process& p) {
  proto::GuestProcess g;
  g.args = p.args;
  g.env = p.env;
  g.cwd = p.cwd.empty() ? "/" : p.cwd;
  g.uid = p.user.uid;
  g.gid = p.user.gid;
  g.additional_gids = p.user.additional_gids;
  g.umask = p.user.umask;
  g.terminal = p.terminal;
  if (p.console_size) {
    g.rows = p.console_size->height;
    g.cols = p.console_size->width;
  }
  for (const auto& r : p.rlimits)
    if (r.resource >= 0) g.rlimits.push_back({static_cast<uint32_t>(r.resource), r.soft, r.hard});
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    g.capabilities =
        std::vector<uint64_t>{c.bounding, c.effective, c.inheritable, c.permitted, c.ambient};
  }
  g.no_new_privileges = p.no_new_privileges;
  if (p.oom_score_adj) g.oom_score_adj = *p.oom_score_adj;
  return g;
}

}  // namespace

Result<GuestPlan> plan_guest(const oci::Spec& spec, const std::string& bundle,
                             const Classifier& classify) {
  if (!spec.process) return fail(invalid("process: missing (nothing to run)"));
  GuestPlan plan;
  proto::GuestConfig& c = plan.config;
  c.hostname = spec.hostname;
  c.domainname = spec.domainname;
  c.root_readonly = spec.root.readonly;
  c.masked_paths = spec.linux.masked_paths;
  c.readonly_paths = spec.linux.readonly_paths;
  for (const auto& [k, v] : spec.linux.sysctl) c.sysctl.emplace_back(k, v);
  c.process = plan_process(*spec.process);

  std::vector<runtime::PlannedMount> mounts = BERTH_TRY(runtime::plan_mounts(spec));
  for (size_t i = 0; i < mounts.size(); ++i) {
    const runtime::PlannedMount& m = mounts[i];
    proto::GuestMount g;
    g.target = m.destination;
    g.flags = guest_flags(m.opts);
    g.data = m.opts.data;
    switch (m.kind) {
      case runtime::MountKind::kProc:
      case runtime::MountKind::kSysfs:
      case runtime::MountKind::kDevpts:
      case runtime::MountKind::kMqueue:
      case runtime::MountKind::kOther:
        g.source = m.source.empty() ? m.type : m.source;
        g.fstype = m.type;
        break;
      case runtime::MountKind::kTmpfs:
        g.source = "tmpfs";
        g.fstype = "tmpfs";
        // The guest's own devices: devtmpfs rather than an empty tmpfs to fill with nodes.
        if (path::clean(m.destination) == "/dev") {
          g.source = g.fstype = "devtmpfs";
          g.data.clear();
        }
        break;
      case runtime::MountKind::kCgroup:
        g.source = g.fstype = "cgroup2";
        g.data.clear();
        break;
      case runtime::MountKind::kBind: {
        std::string src = path::is_absolute(m.source) ? m.source : path::join(bundle, m.source);
        switch (classify(src)) {
          case SourceKind::kMissing:
            return fail(make_error(ErrorKind::kNotFound,
                                   "mounts[{}] ({}): source {} does not exist", i, m.destination,
                                   src));
          case SourceKind::kOther:
            plan.warnings.push_back(
                fmt::format("mounts[{}] ({}): {} is not a file or directory; not available in a VM",
                            i, m.destination, src));
            continue;
          case SourceKind::kFile:
            g.kind = proto::GuestMount::Kind::kFile;
            g.source = src;
            plan.copied_files.emplace_back(c.mounts.size(), src);
            break;
          case SourceKind::kDirectory: {
            g.kind = proto::GuestMount::Kind::kVirtiofs;
            std::string tag;
            for (const auto& s : plan.shares)
              if (s.source == src) tag = s.tag;
            if (tag.empty()) {
              tag = fmt::format("berth{}", plan.shares.size());
              plan.shares.push_back({tag, src});
            }
            g.source = tag;
            g.fstype = "virtiofs";
            break;
          }
        }
        g.data.clear();
        break;
      }
    }
    c.mounts.push_back(std::move(g));
  }
  return plan;
}

Result<void> load_copied_files(GuestPlan& plan) {
  for (const auto& [index, src] : plan.copied_files) {
    UniqueFd fd = BERTH_TRY(file::open(src, O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(sys_error(errno, "stat {}", src));
    if (static_cast<size_t>(st.st_size) > kMaxCopiedFile)
      return fail(
          invalid("bind mount of {}: a file bound into a VM is copied, and this one is "
                  "over {} bytes (bind its directory instead)",
                  src, kMaxCopiedFile));
    std::string content = BERTH_TRY(file::read(src));
    plan.config.mounts[index].content = std::move(content);
  }
  return {};
}

}  // namespace berth::vm
