// The monitor: the process that owns one container's life. It creates and starts the
// container through the container handler (in-process, no runtime binary), holds its stdio
// and writes the log, waits for it, records how it ended, applies the restart policy with
// back-off and runs health checks. Detached containers get a small berth-monitor process of
// their own (cmd/berth-monitor); a foreground `berth run` runs the same code in-process and
// relays the container's stdio to its own.
//
// It talks to the rest of berth through files in <state>/monitor/<id>/:
//   monitor.json   its configuration (written by berth before starting it)
//   status.json    what happened (written atomically by the monitor)
//   stop           present when a user stopped the container (no restart)
//   pid            the monitor's pid
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"
#include "engine/run_options.h"
#include "oci/spec.h"

namespace berth::engine {

struct MonitorConfig {
  std::string id;
  std::string bundle;        // holds config.json
  std::string runtime_root;  // the container handler's state root
  std::string monitor_dir;   // <state>/monitor/<id>
  std::string log_path;
  int64_t log_max_size = 0;
  int log_max_file = 1;
  RestartPolicy restart;
  std::optional<HealthCheck> health;
  bool interactive = false;
  bool tty = false;
  // When set, run this argv after the container ends for good (berth rm -f ID for --rm).
  std::vector<std::string> on_exit;
};

struct MonitorStatus {
  std::string state = "created";  // created, running, restarting, exited
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  int exit_code = 0;
  int64_t started_at = 0;   // unix ns
  int64_t finished_at = 0;  // unix ns
  int restart_count = 0;
  std::string error;   // why the last start failed
  std::string health;  // "", starting, healthy, unhealthy
  int failing_streak = 0;
  std::string health_log;  // the last check's output
  pid_t monitor_pid = 0;
};

std::string monitor_config_json(const MonitorConfig& c);
Result<MonitorConfig> parse_monitor_config(std::string_view text);
std::string monitor_status_json(const MonitorStatus& s);
Result<MonitorStatus> parse_monitor_status(std::string_view text);
Result<MonitorStatus> read_monitor_status(const std::string& monitor_dir);

struct MonitorIo {
  // foreground: relay the container's output to this process's stdout/stderr, and this
  // process's stdin to the container (interactive), or its terminal (tty).
  bool relay = false;
  // Called once after the first start (ok or error): lets `berth run -d` return.
  std::function<void(const Result<void>&)> started;
  // The bundle's config.json, when the caller has it in memory already (text and parsed):
  // then it is not read and parsed again.
  const std::string* config_text = nullptr;
  const oci::Spec* spec = nullptr;
  // The caller made the container in this process (`run`): no runtime state of an earlier
  // life can exist, so the first create does not first remove one (a crashed monitor's).
  bool fresh = false;
};

// Runs the container until it ends for good (no more restarts); returns its last exit code.
Result<int> run_monitor(const MonitorConfig& cfg, const MonitorIo& io);

}  // namespace berth::engine
