#include "engine/run_options.h"

#include <cstdlib>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "oci/json_read.h"

namespace berth::engine {

using nlohmann::json;

HealthCheck health_from_json(const oci::jr::Obj& h) {
  HealthCheck hc;
  hc.test = h.strings("test");
  hc.interval_ms = h.i64("intervalMs");
  hc.timeout_ms = h.i64("timeoutMs");
  hc.start_period_ms = h.i64("startPeriodMs");
  hc.retries = static_cast<int>(h.i64("retries"));
  return hc;
}

json to_json(const RunOptions& o) {
  json mounts = json::array();
  for (const auto& m : o.mounts)
    mounts.push_back({{"type", m.type},
                      {"source", m.source},
                      {"target", m.target},
                      {"readonly", m.readonly},
                      {"options", m.options}});
  json j = {{"image", o.image},
            {"cmd", o.cmd},
            {"name", o.name},
            {"detach", o.detach},
            {"interactive", o.interactive},
            {"tty", o.tty},
            {"rm", o.rm},
            {"env", o.env},
            {"workdir", o.workdir},
            {"user", o.user},
            {"hostname", o.hostname},
            {"readOnly", o.read_only},
            {"privileged", o.privileged},
            {"init", o.init},
            {"cpusetCpus", o.cpuset_cpus},
            {"ulimits", o.ulimits},
            {"capAdd", o.cap_add},
            {"capDrop", o.cap_drop},
            {"seccomp", o.seccomp},
            {"noNewPrivileges", o.no_new_privileges},
            {"devices", o.devices},
            {"restart", {{"name", o.restart.name}, {"maxRetries", o.restart.max_retries}}},
            {"mounts", mounts},
            {"labels", o.labels},
            {"stopSignal", o.stop_signal},
            {"logMaxSize", o.log_max_size},
            {"logMaxFile", o.log_max_file},
            {"isolation", o.isolation},
            {"platform", o.platform},
            {"network", o.network},
            {"networkAliases", o.network_aliases},
            {"publish", o.publish},
            {"publishAll", o.publish_all},
            {"exposedPorts", o.exposed_ports}};
  if (o.entrypoint) j["entrypoint"] = *o.entrypoint;
  if (o.memory) j["memory"] = *o.memory;
  if (o.memory_swap) j["memorySwap"] = *o.memory_swap;
  if (o.cpus) j["cpus"] = *o.cpus;
  if (o.cpu_shares) j["cpuShares"] = *o.cpu_shares;
  if (o.pids_limit) j["pidsLimit"] = *o.pids_limit;
  if (o.stop_timeout) j["stopTimeout"] = *o.stop_timeout;
  if (o.health)
    j["health"] = {{"test", o.health->test},
                   {"intervalMs", o.health->interval_ms},
                   {"timeoutMs", o.health->timeout_ms},
                   {"startPeriodMs", o.health->start_period_ms},
                   {"retries", o.health->retries}};
  return j;
}

Result<RunOptions> run_options_from_json(std::string_view text) {
  return oci::jr::parse_with(text, "run options", [](const oci::jr::Obj& j) {
    RunOptions o;
    o.image = j.string("image");
    o.cmd = j.strings("cmd");
    if (j.has("entrypoint")) o.entrypoint = j.strings("entrypoint");
    o.name = j.string("name");
    o.detach = j.boolean("detach");
    o.interactive = j.boolean("interactive");
    o.tty = j.boolean("tty");
    o.rm = j.boolean("rm");
    o.env = j.strings("env");
    o.workdir = j.string("workdir");
    o.user = j.string("user");
    o.hostname = j.string("hostname");
    o.read_only = j.boolean("readOnly");
    o.privileged = j.boolean("privileged");
    o.init = j.boolean("init");
    if (j.has("memory")) o.memory = j.i64("memory");
    if (j.has("memorySwap")) o.memory_swap = j.i64("memorySwap");
    if (j.has("cpus")) o.cpus = j.raw("cpus").get<double>();
    if (j.has("cpuShares")) o.cpu_shares = j.u64("cpuShares");
    o.cpuset_cpus = j.string("cpusetCpus");
    if (j.has("pidsLimit")) o.pids_limit = j.i64("pidsLimit");
    o.ulimits = j.strings("ulimits");
    o.cap_add = j.strings("capAdd");
    o.cap_drop = j.strings("capDrop");
    o.seccomp = j.string("seccomp");
    o.no_new_privileges = j.boolean("noNewPrivileges");
    o.devices = j.strings("devices");
    if (auto r = j.object("restart")) {
      o.restart.name = r->string("name", false, "no");
      o.restart.max_retries = static_cast<int>(r->i64("maxRetries"));
    }
    for (const auto& m : j.array("mounts")) {
      MountOption mo;
      mo.type = m.string("type");
      mo.source = m.string("source");
      mo.target = m.string("target");
      mo.readonly = m.boolean("readonly");
      mo.options = m.strings("options");
      o.mounts.push_back(mo);
    }
    o.labels = j.string_map("labels");
    o.stop_signal = j.string("stopSignal");
    if (j.has("stopTimeout")) o.stop_timeout = static_cast<int>(j.i64("stopTimeout"));
    o.log_max_size = j.i64("logMaxSize");
    o.log_max_file = static_cast<int>(j.i64("logMaxFile"));
    if (auto h = j.object("health")) o.health = health_from_json(*h);
    o.isolation = j.string("isolation", false, "container");
    o.platform = j.string("platform");
    o.network = j.string("network", false, "bridge");
    o.network_aliases = j.strings("networkAliases");
    o.publish = j.strings("publish");
    o.publish_all = j.boolean("publishAll");
    o.exposed_ports = j.strings("exposedPorts");
    return o;
  });
}

Result<int64_t> parse_bytes(std::string_view s, std::string_view flag) {
  if (s == "-1") return -1;
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string num(s.substr(0, i));
  std::string unit(s.substr(i));
  for (auto& c : unit) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  double mult = unit.empty() || unit == "b"                    ? 1
                : unit == "k" || unit == "kb" || unit == "kib" ? 1024.0
                : unit == "m" || unit == "mb" || unit == "mib" ? 1024.0 * 1024
                : unit == "g" || unit == "gb" || unit == "gib" ? 1024.0 * 1024 * 1024
                                                               : 0;
  char* end = nullptr;
  double v = num.empty() ? -1 : strtod(num.c_str(), &end);
  if (mult == 0 || v < 0 || (end && *end))
    return fail(invalid("{} {:?}: expected a size like 64m, 1g or 1048576", flag, s));
  return static_cast<int64_t>(v * mult);
}

Result<int64_t> parse_duration_ms(std::string_view s, std::string_view flag) {
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string num(s.substr(0, i));
  std::string_view unit = s.substr(i);
  double mult = unit == "ms"                  ? 1
                : unit == "s" || unit.empty() ? 1000
                : unit == "m"                 ? 60000
                : unit == "h"                 ? 3600000
                                              : 0;
  char* end = nullptr;
  double v = num.empty() ? -1 : strtod(num.c_str(), &end);
  if (mult == 0 || v < 0 || (end && *end))
    return fail(invalid("{} {:?}: expected a duration like 30s, 500ms or 1m", flag, s));
  return static_cast<int64_t>(v * mult);
}

Result<RestartPolicy> parse_restart(std::string_view s) {
  RestartPolicy p;
  std::vector<std::string> parts = split(s, ':');
  p.name = parts[0];
  if (p.name != "no" && p.name != "on-failure" && p.name != "always" && p.name != "unless-stopped")
    return fail(
        invalid("--restart {:?}: expected no, on-failure[:N], always or unless-stopped", s));
  if (parts.size() > 2 || (parts.size() == 2 && p.name != "on-failure"))
    return fail(invalid("--restart {:?}: only on-failure takes a count", s));
  if (parts.size() == 2) {
    auto n = parse_uint(parts[1]);
    if (!n) return fail(invalid("--restart {:?}: the count must be a number", s));
    p.max_retries = static_cast<int>(*n);
  }
  return p;
}

Result<MountOption> parse_volume_flag(std::string_view s) {
  std::vector<std::string> parts = split(s, ':');
  MountOption m;
  if (parts.size() == 1) {  // -v /data: an anonymous volume
    m.type = "volume";
    m.target = parts[0];
  } else if (parts.size() <= 3) {
    m.source = parts[0];
    m.target = parts[1];
    m.type = path::is_absolute(m.source) || m.source.rfind("./", 0) == 0 ? "bind" : "volume";
    if (parts.size() == 3) {
      for (const std::string& o : split(parts[2], ',')) {
        if (o == "ro")
          m.readonly = true;
        else if (o == "rw")
          m.readonly = false;
        else if (o == "z" || o == "Z")
          continue;  // SELinux relabel: nothing to do here
        else if (o == "shared" || o == "rshared" || o == "slave" || o == "rslave" ||
                 o == "private" || o == "rprivate")
          m.options.push_back(o);
        else
          return fail(invalid("-v {:?}: unknown option {:?}", s, o));
      }
    }
  } else {
    return fail(invalid("-v {:?}: expected [SOURCE:]TARGET[:OPTIONS]", s));
  }
  if (!path::is_absolute(m.target))
    return fail(invalid("-v {:?}: the container path must be absolute", s));
  if (m.type == "bind" && m.source.rfind("./", 0) == 0) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) m.source = path::clean(path::join(cwd, m.source));
  }
  if (m.type == "volume" && !m.source.empty()) {
    for (char c : m.source)
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
        return fail(
            invalid("-v {:?}: {:?} is neither an absolute path nor a volume name", s, m.source));
  }
  return m;
}

Result<MountOption> parse_mount_flag(std::string_view s) {
  MountOption m;
  m.type = "volume";
  for (const std::string& kv : split(s, ',')) {
    std::string k = kv.substr(0, kv.find('='));
    std::string v = kv.find('=') == std::string::npos ? "" : kv.substr(kv.find('=') + 1);
    if (k == "type")
      m.type = v;
    else if (k == "source" || k == "src")
      m.source = v;
    else if (k == "target" || k == "destination" || k == "dst")
      m.target = v;
    else if (k == "readonly" || k == "ro")
      m.readonly = v.empty() || v == "true" || v == "1";
    else if (k == "tmpfs-size")
      m.options.push_back("size=" + v);
    else if (k == "tmpfs-mode")
      m.options.push_back("mode=" + v);
    else if (k == "bind-propagation")
      m.options.push_back(v);
    else
      return fail(invalid("--mount {:?}: unknown key {:?}", s, k));
  }
  if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs")
    return fail(invalid("--mount {:?}: type must be bind, volume or tmpfs", s));
  if (m.target.empty() || !path::is_absolute(m.target))
    return fail(invalid("--mount {:?}: needs an absolute target", s));
  if (m.type == "bind" && !path::is_absolute(m.source))
    return fail(invalid("--mount {:?}: a bind mount needs an absolute source", s));
  return m;
}

Result<MountOption> parse_tmpfs_flag(std::string_view s) {
  MountOption m;
  m.type = "tmpfs";
  m.target = std::string(s.substr(0, s.find(':')));
  if (s.find(':') != std::string_view::npos)
    for (const std::string& o : split(s.substr(s.find(':') + 1), ','))
      if (!o.empty()) m.options.push_back(o);
  if (!path::is_absolute(m.target)) return fail(invalid("--tmpfs {:?}: needs an absolute path", s));
  return m;
}

Result<std::vector<std::string>> read_env_file(const std::string& p) {
  std::string text = BERTH_TRY(file::read(p));
  std::vector<std::string> out;
  int n = 0;
  for (const std::string& raw : split(text, '\n')) {
    ++n;
    std::string line(trim(raw));
    if (line.empty() || line[0] == '#') continue;
    if (line.find('=') == std::string::npos) {
      const char* v = getenv(line.c_str());
      if (v) out.push_back(line + "=" + v);
      continue;
    }
    if (line[0] == '=') return fail(invalid("--env-file {} line {}: no variable name", p, n));
    out.push_back(line);
  }
  return out;
}

}  // namespace berth::engine
