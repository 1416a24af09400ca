// run, create, start: containers from images.
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/trace.h"
#include "cli/berth/engine_cli.h"

namespace berth::cli {
namespace {

struct RunFlags {
  engine::RunOptions o;
  std::vector<std::string> env, env_files, volumes, mounts, tmpfs, labels, log_opts;
  std::string entrypoint, memory, memory_swap, restart = "no";
  std::vector<std::string> security_opts;
  std::string health_cmd, health_interval = "30s", health_timeout = "30s", health_start = "0s";
  int health_retries = 3;
  bool no_healthcheck = false;
  std::string image;
  std::vector<std::string> command;
  bool attach_start = false;
};

void add_run_flags(CLI::App* sub, RunFlags& f, bool is_run) {
  auto& o = f.o;
  // -h is --hostname here, as in Docker.
  sub->set_help_flag("--help", "print this help and exit");
  if (is_run) {
    sub->add_flag("-d,--detach", o.detach, "run in the background and print the container id");
  }
  sub->add_flag("-i,--interactive", o.interactive, "keep stdin open and pass it to the container");
  sub->add_flag("-t,--tty", o.tty, "give the container a terminal");
  sub->add_flag("--rm", o.rm, "remove the container (and its anonymous volumes) when it exits");
  sub->add_option("--name", o.name, "a name for the container (default: a random one)");
  sub->add_option("-e,--env", f.env,
                  "set an environment variable NAME=VALUE (NAME alone: "
                  "take berth's value)");
  sub->add_option("--env-file", f.env_files, "read NAME=VALUE lines from a file");
  sub->add_option("-w,--workdir", o.workdir, "working directory inside the container");
  sub->add_option("-u,--user", o.user, "user[:group] to run as (names or numbers)");
  sub->add_option("--entrypoint", f.entrypoint, "replace the image's entrypoint");
  sub->add_option("-h,--hostname", o.hostname, "the container's host name");
  sub->add_flag("--read-only", o.read_only, "mount the root file system read-only");
  sub->add_option("-m,--memory", f.memory, "memory limit (e.g. 64m, 1g)");
  sub->add_option("--memory-swap", f.memory_swap, "memory plus swap limit (-1: unlimited swap)");
  sub->add_option("--cpus", o.cpus, "number of CPUs (e.g. 0.5)");
  sub->add_option("-c,--cpu-shares", o.cpu_shares, "relative CPU weight");
  sub->add_option("--cpuset-cpus", o.cpuset_cpus, "CPUs to run on (0-3,7)");
  sub->add_option("--pids-limit", o.pids_limit, "maximum number of processes (-1: unlimited)");
  sub->add_option("--ulimit", o.ulimits,
                  "resource limit NAME=SOFT[:HARD] (above the host's hard limit: clamped, with a "
                  "warning)");
  sub->add_option("--cap-add", o.cap_add, "add a capability (NET_ADMIN, ALL ...)");
  sub->add_option("--cap-drop", o.cap_drop, "drop a capability");
  sub->add_flag("--privileged", o.privileged,
                "all capabilities, all devices, no seccomp filter and no masked paths");
  sub->add_option("--security-opt", f.security_opts,
                  "seccomp=PROFILE.json|unconfined, no-new-privileges[:true|false]");
  sub->add_option("--device", o.devices, "add a host device HOST[:CONTAINER[:PERMISSIONS]]");
  sub->add_flag("--init", o.init, "run a tiny init as PID 1 that reaps zombies and passes signals");
  sub->add_option("--restart", f.restart,
                  "restart policy: no, on-failure[:N], always, unless-stopped")
      ->capture_default_str();
  sub->add_option("-v,--volume", f.volumes,
                  "bind mount or volume: [SOURCE:]TARGET[:ro] (SOURCE: host path or volume name)");
  sub->add_option("--mount", f.mounts,
                  "type=bind|volume|tmpfs,source=...,target=...[,readonly][,tmpfs-size=...]");
  sub->add_option("--tmpfs", f.tmpfs, "mount a tmpfs: PATH[:OPTIONS]");
  sub->add_option("-l,--label", f.labels, "set a label KEY=VALUE");
  sub->add_option("--stop-signal", o.stop_signal,
                  "signal to stop the container (default: the "
                  "image's, else SIGTERM)");
  sub->add_option("--stop-timeout", o.stop_timeout, "seconds to wait before SIGKILL on stop");
  sub->add_option("--log-opt", f.log_opts, "log option: max-size=SIZE, max-file=N");
  sub->add_option("--health-cmd", f.health_cmd, "command to check health (run with sh -c)");
  sub->add_option("--health-interval", f.health_interval, "time between checks")
      ->capture_default_str();
  sub->add_option("--health-timeout", f.health_timeout, "time one check may take")
      ->capture_default_str();
  sub->add_option("--health-retries", f.health_retries, "failures in a row that make it unhealthy")
      ->capture_default_str();
  sub->add_option("--health-start-period", f.health_start,
                  "time after start during which failures do not count")
      ->capture_default_str();
  sub->add_flag("--no-healthcheck", f.no_healthcheck, "disable any health check");
  sub->add_option("--isolation", o.isolation, "container or vm (a light VM with its own kernel)")
      ->check(CLI::IsMember({"container", "vm", "default"}));
  sub->add_option("--platform", o.platform, "image platform (os/arch); passed to pull");
  sub->add_option("--network,--net", o.network,
                  "none, host, bridge (default), a network name, or container:NAME");
  sub->add_option("--network-alias", o.network_aliases, "another name on the network");
  sub->add_option("-p,--publish", o.publish,
                  "publish a port: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], ranges allowed");
  sub->add_flag("-P,--publish-all", o.publish_all,
                "publish every exposed port to a free host port");
  sub->add_option("image", f.image, "the image")->required();
  // Everything after the image is the command and its arguments (default: the image's),
  // options included: no positional takes it, so prefix_command leaves it in remaining().
  sub->prefix_command();
  // No fallthrough: an unmatched word must end parsing here, not go to berth's own options.
  sub->fallthrough(false);
  sub->footer("IMAGE may be followed by the command and its arguments.");
}

Result<engine::RunOptions> finish(RunFlags& f, CLI::App* sub, const BerthGlobals& g) {
  engine::RunOptions o = f.o;
  o.image = f.image;
  o.cmd = f.command;
  // The command is what follows the image. A word the parser did not know that stood before
  // the image (an unknown flag: prefix_command sends it to remaining() too) shows as
  // remaining() not being the tail of the command line right after the image.
  std::vector<std::string> rest = sub->remaining();
  const auto& argv = g.argv;
  bool tail = rest.size() < argv.size() &&
              std::equal(rest.begin(), rest.end(), argv.end() - static_cast<long>(rest.size())) &&
              *(argv.end() - static_cast<long>(rest.size()) - 1) == f.image;
  if (!tail && !rest.empty()) {
    std::string bad = rest.front();
    for (const auto& w : rest)
      if (w.starts_with("-")) {
        bad = w;
        break;
      }
    return fail(invalid("unknown flag: {} (see {} --help)", bad, sub->get_name()));
  }
  for (auto& r : rest) o.cmd.push_back(r);
  if (!o.cmd.empty() && o.cmd.front() == "--") o.cmd.erase(o.cmd.begin());
  for (const auto& ef : f.env_files) {
    auto lines = BERTH_TRY(engine::read_env_file(ef));
    o.env.insert(o.env.end(), lines.begin(), lines.end());
  }
  for (const auto& e : f.env) {
    if (e.find('=') == std::string::npos) {
      if (const char* v = getenv(e.c_str())) o.env.push_back(e + "=" + v);
    } else {
      o.env.push_back(e);
    }
  }
  if (sub->count("--entrypoint")) {
    o.entrypoint =
        f.entrypoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{f.entrypoint};
  }
  if (!f.memory.empty()) o.memory = BERTH_TRY(engine::parse_bytes(f.memory, "--memory"));
  if (!f.memory_swap.empty())
    o.memory_swap = BERTH_TRY(engine::parse_bytes(f.memory_swap, "--memory-swap"));
  if (o.memory_swap && !o.memory) return fail(invalid("--memory-swap needs --memory"));
  o.restart = BERTH_TRY(engine::parse_restart(f.restart));
  if (o.rm && o.restart.name != "no")
    return fail(invalid("--rm and --restart {} cannot be used together", f.restart));
  for (const auto& v : f.volumes) o.mounts.push_back(BERTH_TRY(engine::parse_volume_flag(v)));
  for (const auto& m : f.mounts) o.mounts.push_back(BERTH_TRY(engine::parse_mount_flag(m)));
  for (const auto& t : f.tmpfs) o.mounts.push_back(BERTH_TRY(engine::parse_tmpfs_flag(t)));
  for (const auto& l : f.labels) {
    size_t eq = l.find('=');
    o.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  for (const auto& s : f.security_opts) {
    if (s == "no-new-privileges" || s == "no-new-privileges:true" ||
        s == "no-new-privileges=true") {
      o.no_new_privileges = true;
    } else if (s == "no-new-privileges:false") {
      o.no_new_privileges = false;
    } else if (s.rfind("seccomp=", 0) == 0 || s.rfind("seccomp:", 0) == 0) {
      std::string v = s.substr(8);
      if (v == "unconfined") {
        o.seccomp = "unconfined";
      } else {
        auto text = file::read(v);
        if (!text) return fail(std::move(text.error()).wrap("--security-opt seccomp"));
        o.seccomp = *text;
      }
    } else if (s.rfind("label", 0) == 0 || s.rfind("apparmor", 0) == 0) {
      log::warn("--security-opt {}: SELinux and AppArmor are not in use here; ignored", s);
    } else {
      return fail(invalid("--security-opt {:?}: expected seccomp=... or no-new-privileges", s));
    }
  }
  for (const auto& lo : f.log_opts) {
    std::string k = lo.substr(0, lo.find('='));
    std::string v = lo.find('=') == std::string::npos ? "" : lo.substr(lo.find('=') + 1);
    if (k == "max-size") {
      o.log_max_size = BERTH_TRY(engine::parse_bytes(v, "--log-opt max-size"));
    } else if (k == "max-file") {
      auto n = parse_uint(v);
      if (!n || *n < 1) return fail(invalid("--log-opt max-file={:?}: expected a number >= 1", v));
      o.log_max_file = static_cast<int>(*n);
    } else {
      return fail(invalid("--log-opt {:?}: berth knows max-size and max-file", lo));
    }
  }
  if (!f.health_cmd.empty() && !f.no_healthcheck) {
    engine::HealthCheck h;
    h.test = {"/bin/sh", "-c", f.health_cmd};
    h.interval_ms = BERTH_TRY(engine::parse_duration_ms(f.health_interval, "--health-interval"));
    h.timeout_ms = BERTH_TRY(engine::parse_duration_ms(f.health_timeout, "--health-timeout"));
    h.start_period_ms =
        BERTH_TRY(engine::parse_duration_ms(f.health_start, "--health-start-period"));
    h.retries = f.health_retries;
    if (h.interval_ms <= 0) return fail(invalid("--health-interval must be above zero"));
    o.health = h;
  }
  if (o.isolation == "default") o.isolation = "container";
  if (o.network == "default") o.network = "bridge";
  return o;
}

void print_warnings(const std::vector<std::string>& w) {
  for (const auto& s : w) fprintf(stderr, "berth: warning: %s\n", s.c_str());
}

// run alone: its ~45 flags are not built twice (for create too) on every `berth run`.
void add_run(CLI::App& app, BerthGlobals& g) {
  {
    auto* sub = app.add_subcommand("run", "create and start a container from an image");
    auto f = std::make_shared<RunFlags>();
    add_run_flags(sub, *f, true);
    on_berth_run(sub, [&g, f, sub]() -> Result<int> {
      engine::RunOptions o = BERTH_TRY(finish(*f, sub, g));
      trace::mark("run: flags parsed");
      auto e = BERTH_TRY(open_engine(g));
      trace::mark("run: engine open");
      std::vector<std::string> warnings;
      engine::Container c = BERTH_TRY(e->create(o, &warnings));
      trace::mark("run: created");
      print_warnings(warnings);
      if (o.detach) {
        if (auto r = e->start(c.record.id); !r) {
          int code = engine::exit_code_for(r.error());
          fprintf(stderr, "berth: %s\n", r.error().text().c_str());
          if (o.rm) (void)e->remove(c.record.id, true, true);
          return code;
        }
        fmt::print("{}\n", c.record.id);
        return 0;
      }
      auto code = e->run_attached(c, /*fresh=*/true);
      if (!code) {
        fprintf(stderr, "berth: %s\n", code.error().text().c_str());
        return engine::exit_code_for(code.error());
      }
      return *code;
    });
  }
}

void add_create_start(CLI::App& app, BerthGlobals& g) {
  {
    auto* sub =
        app.add_subcommand("create", "create a container from an image, without starting it");
    auto f = std::make_shared<RunFlags>();
    add_run_flags(sub, *f, false);
    on_berth_run(sub, [&g, f, sub]() -> Result<int> {
      engine::RunOptions o = BERTH_TRY(finish(*f, sub, g));
      auto e = BERTH_TRY(open_engine(g));
      std::vector<std::string> warnings;
      engine::Container c = BERTH_TRY(e->create(o, &warnings));
      print_warnings(warnings);
      fmt::print("{}\n", c.record.id);
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("start", "start created or stopped containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto attach = std::make_shared<bool>(false);
    sub->add_flag("-a,--attach", *attach, "stay attached: relay output and return the exit code");
    sub->add_option("container", *refs, "containers (names or ids)")->required();
    on_berth_run(sub, [&g, refs, attach]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      if (*attach) {
        if (refs->size() != 1) return fail(invalid("start -a takes one container"));
        engine::Container c = BERTH_TRY(e->get(refs->front()));
        return e->run_attached(c);
      }
      int rc = 0;
      for (const auto& r : *refs) {
        if (auto s = e->start(r); !s) {
          fprintf(stderr, "berth: %s\n", s.error().text().c_str());
          rc = engine::exit_code_for(s.error());
        } else {
          fmt::print("{}\n", r);
        }
      }
      return rc;
    });
  }
}

const BerthVerbs kRunVerb("container-run", {"run"}, add_run);
const BerthVerbs kCreateVerbs("container-create", {"create", "start"}, add_create_start);

}  // namespace

}  // namespace berth::cli
