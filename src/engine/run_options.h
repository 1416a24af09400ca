// What the user asked `berth run` / `berth create` for, kept as JSON in the container's
// record (so `start`, `restart` and the monitor rebuild the same container).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/json_read.h"

namespace berth::engine {

struct MountOption {
  std::string type;    // bind, volume, tmpfs
  std::string source;  // host path, volume name ("" = anonymous volume), unused for tmpfs
  std::string target;  // absolute path in the container
  bool readonly = false;
  std::vector<std::string> options;  // extra mount options (tmpfs size=, mode=; propagation)
};

struct RestartPolicy {
  std::string name = "no";  // no, on-failure, always, unless-stopped
  int max_retries = 0;      // on-failure:N (0 = unlimited)
};

struct HealthCheck {
  std::vector<std::string> test;  // argv run with exec (CMD-SHELL: sh -c "...")
  int64_t interval_ms = 30000;
  int64_t timeout_ms = 30000;
  int64_t start_period_ms = 0;
  int retries = 3;
};

struct RunOptions {
  std::string image;
  std::vector<std::string> cmd;
  std::optional<std::vector<std::string>> entrypoint;
  std::string name;
  bool detach = false;
  bool interactive = false;
  bool tty = false;
  bool rm = false;
  std::vector<std::string> env;  // NAME=VALUE, after --env-file and -e
  std::string workdir;
  std::string user;
  std::string hostname;
  bool read_only = false;
  bool privileged = false;
  bool init = false;
  std::optional<int64_t> memory;
  std::optional<int64_t> memory_swap;
  std::optional<double> cpus;
  std::optional<uint64_t> cpu_shares;
  std::string cpuset_cpus;
  std::optional<int64_t> pids_limit;
  std::vector<std::string> ulimits;  // name=soft[:hard]
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::string seccomp;  // "" default, "unconfined", or a profile file's content
  bool no_new_privileges = false;
  std::vector<std::string> devices;  // HOST[:CONTAINER[:PERMS]]
  RestartPolicy restart;
  std::vector<MountOption> mounts;
  std::map<std::string, std::string> labels;
  std::string stop_signal;  // "" = the image's, else SIGTERM
  std::optional<int> stop_timeout;
  int64_t log_max_size = 10 * 1024 * 1024;  // bytes; 0 = unlimited
  int log_max_file = 3;
  std::optional<HealthCheck> health;
  std::string isolation = "container";  // or vm
  std::string platform;
  std::string network = "bridge";  // none, host, bridge, NAME, container:ID
  std::vector<std::string> network_aliases;
  std::vector<std::string> publish;  // -p specs
  bool publish_all = false;
  // Filled at create from the image: what -P publishes, and its stop signal.
  std::vector<std::string> exposed_ports;
};

nlohmann::json to_json(const RunOptions& o);
// A health check from its JSON form (as to_json writes it; the monitor's config uses it too).
HealthCheck health_from_json(const oci::jr::Obj& h);
Result<RunOptions> run_options_from_json(std::string_view text);

// Flag value parsers shared by the CLI (errors name the flag).
Result<int64_t> parse_bytes(std::string_view s, std::string_view flag);        // 512m, 1g, 1024
Result<int64_t> parse_duration_ms(std::string_view s, std::string_view flag);  // 30s, 1m, 500ms
Result<RestartPolicy> parse_restart(std::string_view s);
// -v SRC:DST[:ro|rw|z|...] and --mount type=...,source=...,target=...,readonly
Result<MountOption> parse_volume_flag(std::string_view s);
Result<MountOption> parse_mount_flag(std::string_view s);
Result<MountOption> parse_tmpfs_flag(std::string_view s);
// --env-file: NAME=VALUE lines, # comments, a bare NAME takes the value from berth's env.
Result<std::vector<std::string>> read_env_file(const std::string& path);

}  // namespace berth::engine
