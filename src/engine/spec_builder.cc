#include "engine/spec_builder.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>

#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"

extern "C" const char berth_seccomp_default_start[];
extern "C" const char berth_seccomp_default_end[];

namespace berth::engine {

using nlohmann::json;

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return kCaps;
}

const json& default_seccomp_profile() {
  static const json kProfile = json::parse(std::string_view(
      berth_seccomp_default_start,
      static_cast<size_t>(berth_seccomp_default_end - berth_seccomp_default_start)));
  return kProfile;
}

namespace {

std::string cap_name(std::string_view s) {
  std::string up;
  for (char c : s) up.push_back(static_cast<char>(toupper(static_cast<unsigned char>(c))));
  if (up != "ALL" && up.rfind("CAP_", 0) != 0) up = "CAP_" + up;
  return up;
}

Result<std::vector<std::string>> capabilities(const RunOptions& o) {
  std::set<std::string> all;
  // Every capability this process may pass on: in our bounding set (where berth runs without
  // some, CAP_SYS_RESOURCE here, asking for them would fail the capset).
  for (int c = 0; c <= 63; ++c) {
    int in_set = ::prctl(PR_CAPBSET_READ, c, 0, 0, 0);
    if (in_set < 0) break;
    if (in_set == 1) all.insert(oci::capability_name(c));
  }
  if (o.privileged) return std::vector<std::string>(all.begin(), all.end());
  std::set<std::string> caps(default_capabilities().begin(), default_capabilities().end());
  for (const auto& d : o.cap_drop) {
    std::string n = cap_name(d);
    if (n == "CAP_ALL" || n == "ALL") {
      caps.clear();
      continue;
    }
    BERTH_CHECK_CTX(oci::capability_from_name(n), "--cap-drop");
    caps.erase(n);
  }
  for (const auto& a : o.cap_add) {
    std::string n = cap_name(a);
    if (n == "ALL") {
      caps = all;
      continue;
    }
    BERTH_CHECK_CTX(oci::capability_from_name(n), "--cap-add");
    caps.insert(n);
  }
  return std::vector<std::string>(caps.begin(), caps.end());
}

// The default profile, opened up for the capabilities the container has.
json seccomp_for(const json& profile, const std::vector<std::string>& caps) {
  json p = profile;
  json extra = json::array();
  if (p.contains("berthCapabilities")) {
    for (const auto& c : caps) {
      if (!p["berthCapabilities"].contains(c)) continue;
      for (const auto& n : p["berthCapabilities"][c]) extra.push_back(n);
    }
    p.erase("berthCapabilities");
  }
  if (!extra.empty()) p["syscalls"].push_back({{"names", extra}, {"action", "SCMP_ACT_ALLOW"}});
  return p;
}

Result<json> rlimits(const SpecInputs& in, std::vector<std::string>& warnings) {
  json out = json::array();
  for (const auto& u : in.opts.ulimits) {
    std::string name = u.substr(0, u.find('='));
    std::string val = u.find('=') == std::string::npos ? "" : u.substr(u.find('=') + 1);
    std::string type = "RLIMIT_";
    for (char c : name) type.push_back(static_cast<char>(toupper(static_cast<unsigned char>(c))));
    int res = oci::rlimit_from_name(type);
    if (res < 0 || val.empty()) return fail(invalid("--ulimit {:?}: expected NAME=SOFT[:HARD]", u));
    std::vector<std::string> sh = split(val, ':');
    auto parse = [&](const std::string& s) -> std::optional<uint64_t> {
      if (s == "-1" || s == "unlimited") return RLIM_INFINITY;
      return parse_uint(s);
    };
    auto soft = parse(sh[0]);
    auto hard = sh.size() > 1 ? parse(sh[1]) : soft;
    if (!soft || !hard || sh.size() > 2 || *soft > *hard)
      return fail(invalid("--ulimit {:?}: soft and hard must be numbers, soft <= hard", u));
    uint64_t host = in.host_hard_limit ? in.host_hard_limit(res) : RLIM_INFINITY;
    if (*hard > host) {
      // Raising a hard limit needs CAP_SYS_RESOURCE; berth clamps rather than fail a run.
      warnings.push_back(fmt::format("--ulimit {}: clamped to this host's hard limit {}", u, host));
      hard = host;
      if (*soft > host) soft = host;
    }
    out.push_back({{"type", type}, {"soft", *soft}, {"hard", *hard}});
  }
  return out;
}

json default_mounts(const SpecInputs& in) {
  const RunOptions& o = in.opts;
  std::string sys_ro = o.privileged ? "rw" : "ro";
  json m = json::array({
      {{"destination", "/proc"},
       {"type", "proc"},
       {"source", "proc"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", sys_ro}}},
      {{"destination", "/sys/fs/cgroup"},
       {"type", "cgroup"},
       {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", sys_ro}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
  });
  if (in.netns == "host") {
    // The host's network: sysfs cannot be mounted without a network namespace of our own.
    m[4] = {{"destination", "/sys"},
            {"type", "bind"},
            {"source", "/sys"},
            {"options", {"rbind", "nosuid", "noexec", "nodev", sys_ro}}};
  }
  for (const char* f : {"hosts", "resolv.conf", "hostname"}) {
    m.push_back({{"destination", std::string("/etc/") + f},
                 {"type", "bind"},
                 {"source", path::join(in.etc_dir, f)},
                 {"options", {"rbind", "rprivate"}}});
  }
  return m;
}

}  // namespace

Result<oci::Device> lookup_device(std::string_view spec, std::string* perms) {
  std::vector<std::string> parts = split(spec, ':');
  if (parts.size() > 3 || parts[0].empty())
    return fail(invalid("--device {:?}: expected HOST[:CONTAINER[:PERMISSIONS]]", spec));
  struct stat st {};
  if (::stat(parts[0].c_str(), &st) != 0) return fail(sys_error(errno, "--device {}", parts[0]));
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    return fail(invalid("--device {}: not a device node", parts[0]));
  oci::Device d;
  d.path = parts.size() > 1 && !parts[1].empty() ? parts[1] : parts[0];
  d.type = S_ISBLK(st.st_mode) ? 'b' : 'c';
  d.major = major(st.st_rdev);
  d.minor = minor(st.st_rdev);
  d.file_mode = st.st_mode & 0777;
  d.uid = 0;
  d.gid = 0;
  *perms = parts.size() > 2 ? parts[2] : "rwm";
  return d;
}

Result<BuiltSpec> build_spec(const SpecInputs& in) {
  const RunOptions& o = in.opts;
  BuiltSpec out;
  json caps = BERTH_TRY(capabilities(o));
  std::vector<std::string> env = in.image.env;
  for (const auto& e : o.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.rfind(key + "=", 0) == 0; });
    env.push_back(e);
  }
  std::string hostname = o.hostname.empty() ? in.id.substr(0, 12) : o.hostname;
  if (in.netns == "host" && o.hostname.empty()) {
    char h[256] = {};
    gethostname(h, sizeof h - 1);
    hostname = h;
  }
  env.push_back("HOSTNAME=" + hostname);
  if (o.tty &&
      std::none_of(env.begin(), env.end(), [](auto& e) { return e.rfind("TERM=", 0) == 0; }))
    env.push_back("TERM=xterm");
  std::vector<std::string> args = in.image.args;
  if (args.empty()) return fail(invalid("no command: the image has none and none was given"));
  if (o.init) {
    args.insert(args.begin(), {"/dev/init", "--"});
  }
  json user = {{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;
  json process = {
      {"terminal", o.tty},
      {"user", user},
      {"args", args},
      {"env", env},
      {"cwd", o.workdir.empty() ? (in.image.cwd.empty() ? "/" : in.image.cwd) : o.workdir},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", o.no_new_privileges},
      {"rlimits", BERTH_TRY(rlimits(in, out.warnings))},
  };
  json mounts = default_mounts(in);
  if (o.privileged) {
    // Every host device, as Docker gives a privileged container.
    mounts[1] = {{"destination", "/dev"},
                 {"type", "bind"},
                 {"source", "/dev"},
                 {"options", {"rbind", "nosuid"}}};
  }
  for (const auto& m : in.mounts) {
    json opts = m.options;
    if (m.type == "bind") {
      opts.push_back("rbind");
      if (m.readonly) opts.push_back("ro");
      mounts.push_back(
          {{"destination", m.target}, {"type", "bind"}, {"source", m.source}, {"options", opts}});
    } else {
      opts.push_back("nosuid");
      opts.push_back("nodev");
      if (m.readonly) opts.push_back("ro");
      mounts.push_back(
          {{"destination", m.target}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", opts}});
    }
  }
  if (o.init) {
    mounts.push_back({{"destination", "/dev/init"},
                      {"type", "bind"},
                      {"source", in.init_binary},
                      {"options", {"bind", "ro"}}});
  }
  json ns = json::array({{{"type", "pid"}},
                         {{"type", "ipc"}},
                         {{"type", "uts"}},
                         {{"type", "mount"}},
                         {{"type", "cgroup"}}});
  if (in.netns.empty()) {
    ns.push_back({{"type", "network"}});
  } else if (in.netns != "host") {
    ns.push_back({{"type", "network"}, {"path", in.netns}});
  }
  json resources = json::object();
  json devrules = json::array();
  devrules.push_back({{"allow", o.privileged}, {"access", "rwm"}});
  json devices = json::array();
  for (const auto& d : in.devices) {
    devices.push_back({{"path", d.path},
                       {"type", std::string(1, d.type)},
                       {"major", d.major},
                       {"minor", d.minor},
                       {"fileMode", d.file_mode.value_or(0666)},
                       {"uid", 0},
                       {"gid", 0}});
    devrules.push_back({{"allow", true},
                        {"type", std::string(1, d.type)},
                        {"major", d.major},
                        {"minor", d.minor},
                        {"access", "rwm"}});
  }
  resources["devices"] = devrules;
  if (o.memory) {
    resources["memory"]["limit"] = *o.memory;
    if (o.memory_swap) resources["memory"]["swap"] = *o.memory_swap;
  }
  if (o.cpus) {
    resources["cpu"]["quota"] = static_cast<int64_t>(*o.cpus * 100000);
    resources["cpu"]["period"] = 100000;
  }
  if (o.cpu_shares) resources["cpu"]["shares"] = *o.cpu_shares;
  if (!o.cpuset_cpus.empty()) resources["cpu"]["cpus"] = o.cpuset_cpus;
  if (o.pids_limit) resources["pids"]["limit"] = *o.pids_limit;
  json linux = {{"namespaces", ns},
                {"resources", resources},
                {"devices", devices},
                {"cgroupsPath", "/berth/" + in.id}};
  if (!o.privileged) {
    linux["maskedPaths"] = {"/proc/asound",
                            "/proc/acpi",
                            "/proc/kcore",
                            "/proc/keys",
                            "/proc/latency_stats",
                            "/proc/timer_list",
                            "/proc/timer_stats",
                            "/proc/sched_debug",
                            "/proc/scsi",
                            "/sys/firmware",
                            "/sys/devices/virtual/powercap"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"};
    if (o.seccomp.empty()) {
      linux["seccomp"] = seccomp_for(in.seccomp, caps);
    } else if (o.seccomp != "unconfined") {
      auto custom = json::parse(o.seccomp, nullptr, false);
      if (custom.is_discarded() || !custom.is_object())
        return fail(invalid("--security-opt seccomp: the profile is not a JSON object"));
      linux["seccomp"] = seccomp_for(custom, caps);
    }
  }
  json annotations = json::object();
  for (const auto& [k, v] : o.labels) annotations[k] = v;
  if (o.isolation == "vm") annotations["run.oci.berth.isolation"] = "vm";
  json spec = {{"ociVersion", "1.2.0"},
               {"process", process},
               {"root", {{"path", in.rootfs}, {"readonly", o.read_only}}},
               {"hostname", hostname},
               {"mounts", mounts},
               {"linux", linux},
               {"annotations", annotations}};
  if (in.netns == "host") spec.erase("hostname");
  out.config = std::move(spec);
  return out;
}

}  // namespace berth::engine
