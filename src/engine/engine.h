// The engine: containers from images, daemonless. Each command opens the records, works, and
// exits; a small monitor process per running container holds what must outlive a command.
// The runtime is called in-process (runtime::ContainerHandler), never exec'd.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/engine_exit.h"
#include "engine/monitor.h"
#include "engine/paths.h"
#include "engine/records.h"
#include "engine/run_options.h"
#include "engine/volumes.h"

namespace berth::image {
class Store;
}
namespace berth::net {
class Manager;
}

namespace berth::engine {

// What a container is doing now, from its record, its monitor and the runtime.
struct LiveStatus {
  std::string state;  // created, running, paused, restarting, exited, dead
  pid_t pid = 0;
  int exit_code = 0;
  int64_t started_at = 0;   // unix ns
  int64_t finished_at = 0;  // unix ns
  int restart_count = 0;
  std::string health;
  std::string error;
  bool monitor_alive = false;
};

struct Container {
  ContainerRecord record;
  RunOptions options;
  LiveStatus status;
};

struct ExecRequest {
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  bool privileged = false;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(const Paths& paths);
  ~Engine();

  const Paths& paths() const { return paths_; }
  Records& records() { return records_; }
  Volumes& volumes() { return volumes_; }
  Result<image::Store*> images();
  Result<net::Manager*> networks();

  // create: the record, the rootfs snapshot and the bundle (config.json), nothing running.
  Result<Container> create(RunOptions opts, std::vector<std::string>* warnings);
  // start: network, then a monitor process; returns once the container runs (or failed).
  Result<void> start(std::string_view ref);
  // run in the foreground: this process is the monitor (stdio relayed). The exit code.
  // fresh: `c` was made by create() in this process (nothing of an earlier life to clean).
  Result<int> run_attached(const Container& c, bool fresh = false);
  // stop: the stop signal, then SIGKILL after timeout seconds; no restart afterwards.
  Result<void> stop(std::string_view ref, std::optional<int> timeout);
  Result<void> kill(std::string_view ref, int signal);
  Result<void> remove(std::string_view ref, bool force, bool volumes);
  // remove() of a container that is not running: runtime state (runtime_gone: the caller
  // removed it, unless its state dir is still there), network, snapshot, dirs, record, and
  // its anonymous volumes.
  Result<void> discard(const Container& c, bool runtime_gone, bool volumes);
  Result<void> pause(std::string_view ref, bool pause);
  Result<int> wait(std::string_view ref);
  Result<int> exec(std::string_view ref, const ExecRequest& req);
  Result<void> rename(std::string_view ref, std::string_view name);

  Result<Container> get(std::string_view ref);
  Result<std::vector<Container>> list();
  // The container's processes (host pids) and its cgroup's figures.
  Result<std::vector<pid_t>> pids(std::string_view ref);

  // Restarts containers with restart policy always/unless-stopped (not stopped by a user)
  // after a reboot: their monitors are gone. Returns the ids started.
  Result<std::vector<std::string>> boot();

  // Mounts the container's rootfs snapshot again if it is not mounted (after a reboot).
  Result<void> ensure_rootfs(const Container& c);

 private:
  Engine(Paths paths, Records records);
  LiveStatus live_status(const ContainerRecord& r);
  Result<void> setup_network(const Container& c);
  void teardown_network(const std::string& id);
  bool netns_shared(const std::string& id);
  Result<MonitorConfig> monitor_config(const Container& c, bool for_rm_on_exit);
  // The container's config.json, text and parsed: the one written or read last is kept, so a
  // `run` (create, then network set-up and start in the same process) parses it once.
  struct BundleSpec {
    std::string id;
    std::string text;
    oci::Spec spec;
  };
  Result<const BundleSpec*> bundle_spec(const std::string& id);

  Paths paths_;
  Records records_;
  Volumes volumes_;
  std::unique_ptr<image::Store> images_;
  std::unique_ptr<net::Manager> networks_;
  std::optional<BundleSpec> bundle_spec_;
};

std::string random_id();
std::string random_name();

}  // namespace berth::engine
