#include "oci/spec.h"

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <set>

#include "base/path.h"
#include "oci/json_read.h"

namespace berth::oci {

using nlohmann::json;

std::string_view ns_type_name(NsType t) {
  switch (t) {
    case NsType::kPid:
      return "pid";
    case NsType::kNetwork:
      return "network";
    case NsType::kMount:
      return "mount";
    case NsType::kIpc:
      return "ipc";
    case NsType::kUts:
      return "uts";
    case NsType::kUser:
      return "user";
    case NsType::kCgroup:
      return "cgroup";
    case NsType::kTime:
      return "time";
  }
  return "?";
}

std::string_view ns_proc_name(NsType t) {
  switch (t) {
    case NsType::kPid:
      return "pid";
    case NsType::kNetwork:
      return "net";
    case NsType::kMount:
      return "mnt";
    case NsType::kIpc:
      return "ipc";
    case NsType::kUts:
      return "uts";
    case NsType::kUser:
      return "user";
    case NsType::kCgroup:
      return "cgroup";
    case NsType::kTime:
      return "time";
  }
  return "?";
}

int ns_clone_flag(NsType t) {
  switch (t) {
    case NsType::kPid:
      return CLONE_NEWPID;
    case NsType::kNetwork:
      return CLONE_NEWNET;
    case NsType::kMount:
      return CLONE_NEWNS;
    case NsType::kIpc:
      return CLONE_NEWIPC;
    case NsType::kUts:
      return CLONE_NEWUTS;
    case NsType::kUser:
      return CLONE_NEWUSER;
    case NsType::kCgroup:
      return CLONE_NEWCGROUP;
    case NsType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

const Namespace* Linux::find_namespace(NsType t) const {
  for (const auto& ns : namespaces)
    if (ns.type == t) return &ns;
  return nullptr;
}

Result<int> capability_from_name(std::string_view name) {
  std::string n(name);
  // libcap accepts names without the prefix too; the spec wants the CAP_ form.
  if (n.size() < 5 || (n.compare(0, 4, "CAP_") != 0 && n.compare(0, 4, "cap_") != 0))
    return fail(invalid("unknown capability {:?}", n));
  cap_value_t v;
  if (cap_from_name(n.c_str(), &v) != 0) return fail(invalid("unknown capability {:?}", n));
  if (v < 0 || v > 63) return fail(invalid("unknown capability {:?}", n));
  return static_cast<int>(v);
}

std::string capability_name(int cap) {
  char* s = cap_to_name(cap);
  std::string out = s ? s : std::to_string(cap);
  if (s) cap_free(s);
  for (auto& c : out) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return out;
}

int rlimit_from_name(std::string_view name) {
  static const std::map<std::string_view, int> kNames = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  auto it = kNames.find(name);
  return it == kNames.end() ? -1 : it->second;
}

namespace {

using jr::bad;
using jr::Obj;

std::vector<IdMapping> read_mappings(const Obj& o, const char* key) {
  std::vector<IdMapping> out;
  for (const Obj& m : o.array(key)) {
    IdMapping im;
    im.container_id = m.u32("containerID", true);
    im.host_id = m.u32("hostID", true);
    im.size = m.u32("size", true);
    out.push_back(im);
  }
  return out;
}

uint64_t read_capset(const Obj& o, const char* key) {
  uint64_t mask = 0;
  for (const std::string& name : o.strings(key)) {
    auto c = capability_from_name(name);
    if (!c) bad(o.where(key), c.error().message());
    mask |= 1ULL << *c;
  }
  return mask;
}

Process read_process(const Obj& p) {
  Process out;
  out.terminal = p.boolean("terminal");
  if (auto cs = p.object("consoleSize")) {
    out.console_size = ConsoleSize{cs->u32("height", true), cs->u32("width", true)};
  }
  if (auto u = p.object("user")) {
    out.user.uid = u->u32("uid");
    out.user.gid = u->u32("gid");
    if (u->has("umask")) out.user.umask = u->u32("umask");
    for (const Obj& g : u->array("additionalGids")) out.user.additional_gids.push_back(g.as_u32());
    out.user.username = u->string("username");
  }
  out.args = p.strings("args");
  out.env = p.strings("env");
  out.cwd = p.string("cwd", false, "/");
  if (auto c = p.object("capabilities")) {
    Capabilities caps;
    caps.bounding = read_capset(*c, "bounding");
    caps.effective = read_capset(*c, "effective");
    caps.inheritable = read_capset(*c, "inheritable");
    caps.permitted = read_capset(*c, "permitted");
    caps.ambient = read_capset(*c, "ambient");
    out.capabilities = caps;
  }
  std::set<std::string> seen;
  for (const Obj& r : p.array("rlimits")) {
    Rlimit rl;
    rl.type = r.string("type", true);
    rl.resource = rlimit_from_name(rl.type);
    if (rl.resource < 0) bad(r.where("type"), fmt::format("unknown rlimit {:?}", rl.type));
    if (!seen.insert(rl.type).second)
      bad(r.where("type"), fmt::format("rlimit {} given twice", rl.type));
    rl.hard = r.u64("hard", true);
    rl.soft = r.u64("soft", true);
    out.rlimits.push_back(rl);
  }
  out.no_new_privileges = p.boolean("noNewPrivileges");
  out.apparmor_profile = p.string("apparmorProfile");
  if (p.has("oomScoreAdj")) out.oom_score_adj = static_cast<int>(p.i64("oomScoreAdj"));
  out.selinux_label = p.string("selinuxLabel");
  if (auto io = p.object("ioPriority")) {
    out.io_priority = IoPriority{io->string("class", true), static_cast<int>(io->i64("priority"))};
  }
  if (auto s = p.object("scheduler")) {
    Scheduler sc;
    sc.policy = s->string("policy", true);
    sc.nice = static_cast<int32_t>(s->i64("nice"));
    sc.priority = static_cast<int32_t>(s->i64("priority"));
    sc.flags = s->strings("flags");
    sc.runtime = s->u64("runtime");
    sc.deadline = s->u64("deadline");
    sc.period = s->u64("period");
    out.scheduler = sc;
  }
  if (auto a = p.object("execCPUAffinity")) {
    out.exec_cpu_affinity = ExecCpuAffinity{a->string("initial"), a->string("final")};
  }
  return out;
}

std::vector<Hook> read_hooks(const Obj& h, const char* key) {
  std::vector<Hook> out;
  for (const Obj& o : h.array(key)) {
    Hook hk;
    hk.path = o.string("path", true);
    hk.args = o.strings("args");
    hk.env = o.strings("env");
    if (o.has("timeout")) {
      int64_t t = o.i64("timeout");
      if (t <= 0) bad(o.where("timeout"), "must be greater than zero");
      hk.timeout = static_cast<int>(t);
    }
    out.push_back(std::move(hk));
  }
  return out;
}

std::optional<NsType> ns_type_from(std::string_view s) {
  static const std::map<std::string_view, NsType> kTypes = {
      {"pid", NsType::kPid},       {"network", NsType::kNetwork}, {"mount", NsType::kMount},
      {"ipc", NsType::kIpc},       {"uts", NsType::kUts},         {"user", NsType::kUser},
      {"cgroup", NsType::kCgroup}, {"time", NsType::kTime},
  };
  auto it = kTypes.find(s);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

char one_char(const Obj& o, const char* key, std::string_view allowed, bool required, char def) {
  std::string s = o.string(key, required);
  if (s.empty()) return def;
  if (s.size() != 1 || allowed.find(s[0]) == std::string_view::npos)
    bad(o.where(key), fmt::format("must be one of {:?}, not {:?}", allowed, s));
  return s[0];
}

std::vector<ThrottleDevice> read_throttle(const Obj& o, const char* key) {
  std::vector<ThrottleDevice> out;
  for (const Obj& t : o.array(key))
    out.push_back({t.i64("major", true), t.i64("minor", true), t.u64("rate", true)});
  return out;
}

Resources read_resources(const Obj& r) {
  Resources out;
  for (const Obj& d : r.array("devices")) {
    DeviceRule rule;
    rule.allow = d.boolean("allow", true);
    rule.type = one_char(d, "type", "acb", false, 'a');
    if (d.has("major")) rule.major = d.i64("major");
    if (d.has("minor")) rule.minor = d.i64("minor");
    rule.access = d.string("access");
    for (char c : rule.access)
      if (c != 'r' && c != 'w' && c != 'm')
        bad(d.where("access"), fmt::format("{:?} is not a subset of \"rwm\"", rule.access));
    out.devices.push_back(rule);
  }
  if (auto m = r.object("memory")) {
    Memory mem;
    if (m->has("limit")) mem.limit = m->i64("limit");
    if (m->has("reservation")) mem.reservation = m->i64("reservation");
    if (m->has("swap")) mem.swap = m->i64("swap");
    if (m->has("kernel")) mem.kernel = m->i64("kernel");
    if (m->has("kernelTCP")) mem.kernel_tcp = m->i64("kernelTCP");
    if (m->has("swappiness")) mem.swappiness = m->u64("swappiness");
    if (m->has("disableOOMKiller")) mem.disable_oom_killer = m->boolean("disableOOMKiller");
    if (m->has("useHierarchy")) mem.use_hierarchy = m->boolean("useHierarchy");
    if (m->has("checkBeforeUpdate")) mem.check_before_update = m->boolean("checkBeforeUpdate");
    out.memory = mem;
  }
  if (auto c = r.object("cpu")) {
    Cpu cpu;
    if (c->has("shares")) cpu.shares = c->u64("shares");
    if (c->has("quota")) cpu.quota = c->i64("quota");
    if (c->has("burst")) cpu.burst = c->u64("burst");
    if (c->has("period")) cpu.period = c->u64("period");
    if (c->has("realtimeRuntime")) cpu.realtime_runtime = c->i64("realtimeRuntime");
    if (c->has("realtimePeriod")) cpu.realtime_period = c->u64("realtimePeriod");
    cpu.cpus = c->string("cpus");
    cpu.mems = c->string("mems");
    if (c->has("idle")) cpu.idle = c->i64("idle");
    out.cpu = cpu;
  }
  if (auto p = r.object("pids")) {
    if (p->has("limit")) out.pids_limit = p->i64("limit");
  }
  if (auto b = r.object("blockIO")) {
    BlockIo bio;
    if (b->has("weight")) bio.weight = static_cast<uint16_t>(b->u64_max("weight", 65535));
    if (b->has("leafWeight"))
      bio.leaf_weight = static_cast<uint16_t>(b->u64_max("leafWeight", 65535));
    for (const Obj& w : b->array("weightDevice")) {
      WeightDevice wd{w.i64("major", true), w.i64("minor", true), {}, {}};
      if (w.has("weight")) wd.weight = static_cast<uint16_t>(w.u64_max("weight", 65535));
      if (w.has("leafWeight"))
        wd.leaf_weight = static_cast<uint16_t>(w.u64_max("leafWeight", 65535));
      bio.weight_device.push_back(wd);
    }
    bio.throttle_read_bps = read_throttle(*b, "throttleReadBpsDevice");
    bio.throttle_write_bps = read_throttle(*b, "throttleWriteBpsDevice");
    bio.throttle_read_iops = read_throttle(*b, "throttleReadIOPSDevice");
    bio.throttle_write_iops = read_throttle(*b, "throttleWriteIOPSDevice");
    out.block_io = bio;
  }
  for (const Obj& h : r.array("hugepageLimits"))
    out.hugepage_limits.push_back({h.string("pageSize", true), h.u64("limit", true)});
  if (auto n = r.object("network")) {
    NetworkResources net;
    if (n->has("classID")) net.class_id = n->u32("classID");
    for (const Obj& p : n->array("priorities"))
      net.priorities.emplace_back(p.string("name", true), p.u32("priority", true));
    out.network = net;
  }
  out.unified = r.string_map("unified");
  out.has_rdma = r.has("rdma") && !r.raw("rdma").empty();
  return out;
}

Seccomp read_seccomp(const Obj& s) {
  Seccomp out;
  out.default_action = s.string("defaultAction", true);
  if (s.has("defaultErrnoRet")) out.default_errno_ret = s.u32("defaultErrnoRet");
  out.architectures = s.strings("architectures");
  out.flags = s.strings("flags");
  out.listener_path = s.string("listenerPath");
  out.listener_metadata = s.string("listenerMetadata");
  for (const Obj& sc : s.array("syscalls")) {
    SeccompSyscall call;
    call.names = sc.strings("names");
    if (call.names.empty()) bad(sc.where("names"), "must name at least one syscall");
    call.action = sc.string("action", true);
    if (sc.has("errnoRet")) call.errno_ret = sc.u32("errnoRet");
    for (const Obj& a : sc.array("args")) {
      SeccompArg arg;
      arg.index = a.u32("index", true);
      arg.value = a.u64("value", true);
      arg.value_two = a.u64("valueTwo");
      arg.op = a.string("op", true);
      call.args.push_back(arg);
    }
    out.syscalls.push_back(std::move(call));
  }
  return out;
}

Linux read_linux(const Obj& l) {
  Linux out;
  std::set<NsType> seen;
  for (const Obj& n : l.array("namespaces")) {
    std::string t = n.string("type", true);
    auto type = ns_type_from(t);
    if (!type) bad(n.where("type"), fmt::format("unknown namespace type {:?}", t));
    if (!seen.insert(*type).second)
      bad(n.where("type"), fmt::format("namespace {:?} listed twice", t));
    out.namespaces.push_back({*type, n.string("path")});
  }
  out.uid_mappings = read_mappings(l, "uidMappings");
  out.gid_mappings = read_mappings(l, "gidMappings");
  if (auto to = l.object("timeOffsets")) {
    for (const std::string& k : to->keys()) {
      if (k != "monotonic" && k != "boottime")
        bad(to->where(k.c_str()), "only \"monotonic\" and \"boottime\" clocks have offsets");
      Obj off = *to->object(k.c_str());
      out.time_offsets[k] = TimeOffset{off.i64("secs"), off.u32("nanosecs")};
    }
  }
  for (const Obj& d : l.array("devices")) {
    Device dev;
    dev.path = d.string("path", true);
    dev.type = one_char(d, "type", "cbup", true, 'c');
    bool need_nums = dev.type != 'p';
    dev.major = d.i64("major", need_nums);
    dev.minor = d.i64("minor", need_nums);
    if (d.has("fileMode")) dev.file_mode = d.u32("fileMode");
    if (d.has("uid")) dev.uid = d.u32("uid");
    if (d.has("gid")) dev.gid = d.u32("gid");
    out.devices.push_back(dev);
  }
  if (l.has("cgroupsPath")) out.cgroups_path = l.string("cgroupsPath");
  if (auto r = l.object("resources")) out.resources = read_resources(*r);
  out.rootfs_propagation = l.string("rootfsPropagation");
  if (auto s = l.object("seccomp")) out.seccomp = read_seccomp(*s);
  out.sysctl = l.string_map("sysctl");
  out.masked_paths = l.strings("maskedPaths");
  out.readonly_paths = l.strings("readonlyPaths");
  out.mount_label = l.string("mountLabel");
  if (auto p = l.object("personality"))
    out.personality = Personality{p->string("domain", true), p->strings("flags")};
  return out;
}

Spec read_spec(const Obj& o) {
  Spec s;
  s.oci_version = o.string("ociVersion", true);
  if (auto r = o.object("root")) {
    s.root.path = r->string("path", true);
    s.root.readonly = r->boolean("readonly");
  }
  for (const Obj& m : o.array("mounts")) {
    Mount mt;
    mt.destination = m.string("destination", true);
    mt.type = m.string("type");
    mt.source = m.string("source");
    mt.options = m.strings("options");
    mt.uid_mappings = read_mappings(m, "uidMappings");
    mt.gid_mappings = read_mappings(m, "gidMappings");
    s.mounts.push_back(std::move(mt));
  }
  if (auto p = o.object("process")) s.process = read_process(*p);
  s.hostname = o.string("hostname");
  s.domainname = o.string("domainname");
  if (auto h = o.object("hooks")) {
    s.hooks.prestart = read_hooks(*h, "prestart");
    s.hooks.create_runtime = read_hooks(*h, "createRuntime");
    s.hooks.create_container = read_hooks(*h, "createContainer");
    s.hooks.start_container = read_hooks(*h, "startContainer");
    s.hooks.poststart = read_hooks(*h, "poststart");
    s.hooks.poststop = read_hooks(*h, "poststop");
  }
  s.annotations = o.string_map("annotations");
  if (auto l = o.object("linux")) s.linux = read_linux(*l);
  if (o.has("vm")) s.vm = o.raw("vm");
  return s;
}

}  // namespace

Result<Spec> parse_spec(std::string_view text) {
  return jr::parse_with(text, "config.json", [](const Obj& o) { return read_spec(o); });
}

Result<Spec> spec_from_json(const nlohmann::json& j) {
  return jr::read_with(j, "config.json", [](const Obj& o) { return read_spec(o); });
}

Result<Process> parse_process(std::string_view text) {
  return jr::parse_with(text, "process", [](const Obj& o) { return read_process(o); });
}

Result<Resources> parse_resources(std::string_view text) {
  return jr::parse_with(text, "resources", [](const Obj& o) { return read_resources(o); });
}

Result<void> validate_process(const Process& p) {
  if (p.args.empty()) return fail(invalid("process.args: must name the program to run"));
  if (!path::is_absolute(p.cwd))
    return fail(invalid("process.cwd: {:?} is not an absolute path", p.cwd));
  for (const auto& e : p.env) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      return fail(invalid("process.env: {:?} is not NAME=VALUE", e));
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return fail(invalid("process.oomScoreAdj: {} is outside -1000..1000", *p.oom_score_adj));
  for (const auto& r : p.rlimits) {
    if (r.soft > r.hard)
      return fail(invalid("process.rlimits: {} soft limit {} is above the hard limit {}", r.type,
                          r.soft, r.hard));
  }
  return {};
}

Result<void> validate(const Spec& s) {
  if (s.root.path.empty()) return fail(invalid("root.path: missing"));
  if (s.process) BERTH_CHECK(validate_process(*s.process));
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const Mount& m = s.mounts[i];
    if (!path::is_absolute(m.destination))
      return fail(
          invalid("mounts[{}].destination: {:?} is not an absolute path", i, m.destination));
  }
  const Linux& l = s.linux;
  bool userns = l.find_namespace(NsType::kUser) != nullptr;
  if (!userns && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
    return fail(invalid("linux.uidMappings: mappings need a user namespace"));
  const Namespace* user = l.find_namespace(NsType::kUser);
  if (user && user->path.empty() && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    return fail(invalid("linux.uidMappings: a new user namespace needs uid and gid mappings"));
  for (const auto& ns : l.namespaces) {
    if (!ns.path.empty() && !path::is_absolute(ns.path))
      return fail(invalid("linux.namespaces: {} path {:?} is not absolute", ns_type_name(ns.type),
                          ns.path));
  }
  if (!l.time_offsets.empty()) {
    const Namespace* t = l.find_namespace(NsType::kTime);
    if (!t || !t->path.empty())
      return fail(invalid("linux.timeOffsets: offsets need a new time namespace"));
  }
  if (!s.hostname.empty()) {
    const Namespace* u = l.find_namespace(NsType::kUts);
    if (!u) return fail(invalid("hostname: setting it needs a uts namespace"));
  }
  static const std::set<std::string_view> kProp = {"",        "shared",     "slave",
                                                   "private", "unbindable", "rshared",
                                                   "rslave",  "rprivate",   "runbindable"};
  if (!kProp.count(l.rootfs_propagation))
    return fail(invalid("linux.rootfsPropagation: unknown value {:?}", l.rootfs_propagation));
  for (const auto& d : l.devices) {
    if (!path::is_absolute(d.path))
      return fail(invalid("linux.devices: path {:?} is not absolute", d.path));
  }
  for (const auto& [k, v] : l.sysctl) {
    (void)v;
    if (k.empty() || k.find("..") != std::string::npos || k.front() == '/' || k.front() == '.')
      return fail(invalid("linux.sysctl: bad key {:?}", k));
  }
  auto check_hooks = [](const std::vector<Hook>& hooks, const char* name) -> Result<void> {
    for (const auto& h : hooks)
      if (!path::is_absolute(h.path))
        return fail(invalid("hooks.{}: path {:?} is not absolute", name, h.path));
    return {};
  };
  BERTH_CHECK(check_hooks(s.hooks.prestart, "prestart"));
  BERTH_CHECK(check_hooks(s.hooks.create_runtime, "createRuntime"));
  BERTH_CHECK(check_hooks(s.hooks.create_container, "createContainer"));
  BERTH_CHECK(check_hooks(s.hooks.start_container, "startContainer"));
  BERTH_CHECK(check_hooks(s.hooks.poststart, "poststart"));
  BERTH_CHECK(check_hooks(s.hooks.poststop, "poststop"));
  return {};
}

}  // namespace berth::oci
