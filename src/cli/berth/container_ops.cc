// stop, restart, kill, rm, ps, logs, exec, inspect, wait, top, stats, pause, unpause,
// rename, port, container prune.
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "cgroup/manager.h"
#include "cli/berth/engine_cli.h"
#include "engine/logs.h"
#include "net/network.h"

namespace berth::cli {
namespace {

using nlohmann::json;

Result<int> parse_sig(std::string_view s) {
  if (auto n = parse_int(s)) return static_cast<int>(*n);
  std::string up;
  for (char c : s) up.push_back(static_cast<char>(toupper(static_cast<unsigned char>(c))));
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  for (int i = 1; i < 32; ++i)
    if (sigabbrev_np(i) && up == sigabbrev_np(i)) return i;
  return fail(invalid("unknown signal {:?}", s));
}

// Runs f for each container; prints each name on success, errors on stderr; 1 if any failed.
template <typename F>
Result<int> each(const std::vector<std::string>& refs, F&& f, bool print = true) {
  int rc = 0;
  for (const auto& r : refs) {
    if (auto res = f(r); !res) {
      fprintf(stderr, "berth: %s\n", res.error().text().c_str());
      rc = 1;
    } else if (print) {
      fmt::print("{}\n", r);
    }
  }
  return rc;
}

}  // namespace

json container_inspect_json(engine::Engine& e, const engine::Container& c) {
  json spec = json::object();
  if (auto t = file::read(path::join(e.paths().container(c.record.id), "config.json")))
    spec = json::parse(*t, nullptr, false);
  json ports = json::array();
  if (auto n = e.networks(); n)
    if (auto atts = (*n)->attachments(c.record.id); atts)
      for (const auto& a : *atts)
        for (const auto& p : a.ports) ports.push_back(p.str());
  json networks = json::object();
  if (auto n = e.networks(); n)
    if (auto atts = (*n)->attachments(c.record.id); atts)
      for (const auto& a : *atts)
        networks[a.network_name] = {{"IPAddress", a.ip.str()},
                                    {"Gateway", a.gateway.str()},
                                    {"MacAddress", a.mac},
                                    {"IPPrefixLen", a.prefix}};
  return {
      {"Id", c.record.id},
      {"Name", c.record.name},
      {"Created", engine::rfc3339_nano(c.record.created * 1000000000)},
      {"Image", c.record.image_id},
      {"ImageName", c.record.image},
      {"State",
       {{"Status", c.status.state},
        {"Running", c.status.state == "running"},
        {"Paused", c.status.state == "paused"},
        {"Restarting", c.status.state == "restarting"},
        {"Pid", c.status.pid},
        {"ExitCode", c.status.exit_code},
        {"Error", c.status.error},
        {"StartedAt", c.status.started_at ? engine::rfc3339_nano(c.status.started_at) : ""},
        {"FinishedAt", c.status.finished_at ? engine::rfc3339_nano(c.status.finished_at) : ""},
        {"Health", c.status.health.empty() ? json(nullptr) : json{{"Status", c.status.health}}}}},
      {"RestartCount", c.status.restart_count},
      {"Config", engine::to_json(c.options)},
      {"Mounts", spec.is_object() ? spec.value("mounts", json::array()) : json::array()},
      {"NetworkSettings", {{"Networks", networks}, {"Ports", ports}}},
      {"LogPath", e.paths().log_file(c.record.id)},
      {"Isolation", c.options.isolation},
  };
}

namespace {

void add(CLI::App& app, BerthGlobals& g) {
  {
    auto* sub = app.add_subcommand("stop", "stop containers: the stop signal, then SIGKILL");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto t = std::make_shared<int>(-1);
    sub->add_option("-t,--time", *t,
                    "seconds to wait before SIGKILL (default: the container's, 10)");
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs, t]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      std::optional<int> timeout;
      if (*t >= 0) timeout = *t;
      return each(*refs, [&](const std::string& r) { return e->stop(r, timeout); });
    });
  }
  {
    auto* sub = app.add_subcommand("restart", "stop, then start containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto t = std::make_shared<int>(-1);
    sub->add_option("-t,--time", *t, "seconds to wait before SIGKILL");
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs, t]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      std::optional<int> timeout;
      if (*t >= 0) timeout = *t;
      return each(*refs, [&](const std::string& r) -> Result<void> {
        BERTH_CHECK(e->stop(r, timeout));
        return e->start(r);
      });
    });
  }
  {
    auto* sub = app.add_subcommand("kill", "send a signal to containers (default SIGKILL)");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto sig = std::make_shared<std::string>("KILL");
    sub->add_option("-s,--signal", *sig, "the signal (name or number)");
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs, sig]() -> Result<int> {
      int s = BERTH_TRY(parse_sig(*sig));
      auto e = BERTH_TRY(open_engine(g));
      return each(*refs, [&](const std::string& r) { return e->kill(r, s); });
    });
  }
  {
    auto* sub = app.add_subcommand("rm", "remove containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    auto vols = std::make_shared<bool>(false);
    sub->add_flag("-f,--force", *force, "kill running containers first");
    sub->add_flag("-v,--volumes", *vols, "remove their anonymous volumes too");
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs, force, vols]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      return each(*refs, [&](const std::string& r) { return e->remove(r, *force, *vols); });
    });
  }
  {
    auto* sub = app.add_subcommand("ps", "list containers");
    auto all = std::make_shared<bool>(false);
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>("table");
    sub->add_flag("-a,--all", *all, "all containers (default: running ones)");
    sub->add_flag("-q,--quiet", *quiet, "only ids");
    sub->add_option("-f,--filter", *filters,
                    "name=, id=, status=, label=KEY[=VALUE], ancestor=IMAGE (repeatable)");
    sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    on_berth_run(sub, [&g, all, quiet, filters, format]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto list = BERTH_TRY(e->list());
      std::vector<engine::Container> shown;
      for (auto& c : list) {
        bool ok = *all || c.status.state == "running" || c.status.state == "paused" ||
                  c.status.state == "restarting";
        for (const auto& f : *filters) {
          std::string k = f.substr(0, f.find('='));
          std::string v = f.find('=') == std::string::npos ? "" : f.substr(f.find('=') + 1);
          if (k == "name")
            ok = ok && c.record.name.find(v) != std::string::npos;
          else if (k == "id")
            ok = ok && c.record.id.rfind(v, 0) == 0;
          else if (k == "status") {
            ok = ok && c.status.state == v;
            if (c.status.state == v) ok = true;
          } else if (k == "label") {
            std::string lk = v.substr(0, v.find('='));
            auto it = c.options.labels.find(lk);
            ok = ok && it != c.options.labels.end() &&
                 (v.find('=') == std::string::npos || it->second == v.substr(v.find('=') + 1));
          } else if (k == "ancestor") {
            ok = ok && (c.record.image == v || c.record.image_id.rfind(v, 0) == 0);
          } else {
            return fail(invalid("--filter {:?}: unknown key {:?}", f, k));
          }
        }
        if (ok) shown.push_back(c);
      }
      if (*quiet) {
        for (auto& c : shown) fmt::print("{}\n", short_id(c.record.id));
        return 0;
      }
      if (*format == "json") {
        json arr = json::array();
        for (auto& c : shown)
          arr.push_back({{"Id", c.record.id},
                         {"Names", {c.record.name}},
                         {"Image", c.record.image},
                         {"Command", c.record.command},
                         {"Created", c.record.created},
                         {"State", c.status.state},
                         {"Status", status_text(c)},
                         {"ExitCode", c.status.exit_code},
                         {"Labels", c.options.labels},
                         {"Health", c.status.health}});
        fmt::print("{}\n", arr.dump());
        return 0;
      }
      fmt::print("{:<14}{:<22}{:<24}{:<16}{:<28}{}\n", "CONTAINER ID", "IMAGE", "COMMAND",
                 "CREATED", "STATUS", "NAMES");
      for (auto& c : shown) {
        std::string cmd = "\"" + c.record.command.substr(0, 20) + "\"";
        fmt::print("{:<14}{:<22}{:<24}{:<16}{:<28}{}\n", short_id(c.record.id),
                   c.record.image.substr(0, 21), cmd,
                   human_duration(time(nullptr) - c.record.created) + " ago", status_text(c),
                   c.record.name);
      }
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("logs", "print a container's output");
    auto ref = std::make_shared<std::string>();
    auto follow = std::make_shared<bool>(false);
    auto tail = std::make_shared<std::string>("all");
    auto since = std::make_shared<std::string>();
    auto ts = std::make_shared<bool>(false);
    sub->add_flag("-f,--follow", *follow, "keep printing new output until the container stops");
    sub->add_option("-n,--tail", *tail, "only the last N lines (or all)");
    sub->add_option("--since", *since, "only lines since a time (RFC 3339, unix seconds, or 10m)");
    sub->add_flag("-t,--timestamps", *ts, "prefix lines with their time");
    sub->add_option("container", *ref, "the container")->required();
    on_berth_run(sub, [&g, ref, follow, tail, since, ts]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      engine::Container c = BERTH_TRY(e->get(*ref));
      engine::LogQuery q;
      if (*tail != "all") {
        auto n = parse_int(*tail);
        if (!n || *n < 0) return fail(invalid("--tail {:?}: expected a number or all", *tail));
        q.tail = *n;
      }
      if (!since->empty()) q.since_ns = BERTH_TRY(engine::parse_since(*since));
      q.follow = *follow;
      std::string id = c.record.id;
      auto stop = [&]() {
        auto st = e->get(id);
        return !st || (st->status.state != "running" && st->status.state != "restarting" &&
                       st->status.state != "paused");
      };
      BERTH_CHECK(engine::read_logs(
          e->paths().log_file(id), c.options.log_max_file, q,
          [&](const engine::LogLine& l) {
            FILE* out = l.stream == "stderr" ? stderr : stdout;
            if (*ts) fprintf(out, "%s ", l.time.c_str());
            fwrite(l.text.data(), 1, l.text.size(), out);
            fflush(out);
          },
          stop));
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("exec", "run a command in a running container");
    auto req = std::make_shared<engine::ExecRequest>();
    auto ref = std::make_shared<std::string>();
    auto cmd = std::make_shared<std::vector<std::string>>();
    sub->add_flag("-i,--interactive", req->interactive, "pass stdin to the command");
    sub->add_flag("-t,--tty", req->tty, "give the command a terminal");
    sub->add_flag("-d,--detach", req->detach, "run it in the background");
    sub->add_option("-e,--env", req->env, "set an environment variable NAME=VALUE");
    sub->add_option("-u,--user", req->user, "user[:group] to run as");
    sub->add_option("-w,--workdir", req->workdir, "working directory");
    sub->add_flag("--privileged", req->privileged, "accepted for Docker compatibility");
    sub->add_option("container", *ref, "the container")->required();
    // The command and its arguments follow the container (options included).
    sub->prefix_command();
    sub->fallthrough(false);
    sub->footer("CONTAINER is followed by the command and its arguments.");
    on_berth_run(sub, [&g, req, ref, cmd, sub]() -> Result<int> {
      engine::ExecRequest r = *req;
      r.cmd = *cmd;
      for (auto& x : sub->remaining()) r.cmd.push_back(x);
      if (!r.cmd.empty() && r.cmd.front() == "--") r.cmd.erase(r.cmd.begin());
      auto e = BERTH_TRY(open_engine(g));
      auto code = e->exec(*ref, r);
      if (!code) {
        fprintf(stderr, "berth: %s\n", code.error().text().c_str());
        return engine::exit_code_for(code.error());
      }
      return *code;
    });
  }
  auto* container = app.add_subcommand("container", "manage containers");
  {
    // The top-level `inspect` (images and containers) is registered by the image verbs.
    auto* sub = container->add_subcommand("inspect", "print containers' details as JSON");
    auto refs = std::make_shared<std::vector<std::string>>();
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      json arr = json::array();
      for (const auto& r : *refs) {
        engine::Container c = BERTH_TRY(e->get(r));
        arr.push_back(container_inspect_json(*e, c));
      }
      fmt::print("{}\n", arr.dump(2));
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("wait", "wait for containers to stop; print exit codes");
    auto refs = std::make_shared<std::vector<std::string>>();
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      for (const auto& r : *refs) fmt::print("{}\n", BERTH_TRY(e->wait(r)));
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("top", "list a container's processes");
    auto ref = std::make_shared<std::string>();
    sub->add_option("container", *ref, "the container")->required();
    on_berth_run(sub, [&g, ref]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto pids = BERTH_TRY(e->pids(*ref));
      fmt::print("{:<10}{:<10}{}\n", "PID", "PPID", "CMD");
      for (pid_t p : pids) {
        std::string cmd = file::read(fmt::format("/proc/{}/cmdline", p)).value_or("");
        for (auto& ch : cmd)
          if (ch == '\0') ch = ' ';
        std::string stat = file::read(fmt::format("/proc/{}/stat", p)).value_or("");
        std::string ppid = "?";
        if (size_t rp = stat.rfind(')'); rp != std::string::npos) {
          auto f = split(stat.substr(rp + 2), ' ');
          if (f.size() > 1) ppid = f[1];
        }
        fmt::print("{:<10}{:<10}{}\n", p, ppid, trim(cmd));
      }
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("stats", "resource usage of running containers (from cgroups)");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto no_stream = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>("table");
    sub->add_flag("--no-stream", *no_stream, "print once and exit");
    sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->add_option("container", *refs, "containers (default: all running)");
    on_berth_run(sub, [&g, refs, no_stream, format]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      auto layout = BERTH_TRY(cgroup::detect_layout());
      while (true) {
        std::vector<engine::Container> cs;
        if (refs->empty()) {
          for (auto& c : BERTH_TRY(e->list()))
            if (c.status.state == "running" || c.status.state == "paused") cs.push_back(c);
        } else {
          for (const auto& r : *refs) cs.push_back(BERTH_TRY(e->get(r)));
        }
        json arr = json::array();
        if (*format == "table")
          fmt::print("{:<14}{:<24}{:<12}{:<24}{}\n", "CONTAINER ID", "NAME", "CPU TIME",
                     "MEM USAGE / LIMIT", "PIDS");
        for (auto& c : cs) {
          auto m = cgroup::make_manager(layout, "/berth/" + c.record.id);
          cgroup::Stats s;
          if (m) s = (*m)->stats().value_or(cgroup::Stats{});
          std::string limit = s.memory_limit > (1ULL << 60)
                                  ? "unlimited"
                                  : human_size(static_cast<int64_t>(s.memory_limit));
          if (*format == "json") {
            arr.push_back({{"Id", c.record.id},
                           {"Name", c.record.name},
                           {"CpuNanoseconds", s.cpu_usage_ns},
                           {"MemoryUsage", s.memory_usage},
                           {"MemoryLimit", s.memory_limit},
                           {"Pids", s.pids_current}});
          } else {
            fmt::print("{:<14}{:<24}{:<12}{:<24}{}\n", short_id(c.record.id), c.record.name,
                       fmt::format("{:.2f}s", s.cpu_usage_ns / 1e9),
                       human_size(static_cast<int64_t>(s.memory_usage)) + " / " + limit,
                       s.pids_current);
          }
        }
        if (*format == "json") fmt::print("{}\n", arr.dump());
        if (*no_stream) return 0;
        fflush(stdout);
        sleep(1);
      }
    });
  }
  for (bool p : {true, false}) {
    auto* sub = app.add_subcommand(p ? "pause" : "unpause",
                                   p ? "freeze every process of containers" : "thaw containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    sub->add_option("container", *refs, "containers")->required();
    on_berth_run(sub, [&g, refs, p]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      return each(*refs, [&](const std::string& r) { return e->pause(r, p); });
    });
  }
  {
    auto* sub = app.add_subcommand("rename", "rename a container");
    auto ref = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    sub->add_option("container", *ref, "the container")->required();
    sub->add_option("new-name", *name, "its new name")->required();
    on_berth_run(sub, [&g, ref, name]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      BERTH_CHECK(e->rename(*ref, *name));
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("port", "list a container's published ports");
    auto ref = std::make_shared<std::string>();
    sub->add_option("container", *ref, "the container")->required();
    on_berth_run(sub, [&g, ref]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      engine::Container c = BERTH_TRY(e->get(*ref));
      net::Manager* n = BERTH_TRY(e->networks());
      for (const auto& a : BERTH_TRY(n->attachments(c.record.id)))
        for (const auto& p : a.ports)
          fmt::print("{}/{} -> {}:{}\n", p.container_port, net::proto_name(p.proto),
                     p.host_ip.empty() ? "0.0.0.0" : p.host_ip, p.host_port);
      return 0;
    });
  }
  {
    auto* sub = container->add_subcommand("prune", "remove every stopped container");
    sub->add_flag("-f,--force")
        ->description("accepted for Docker compatibility (berth never asks)");
    on_berth_run(sub, [&g]() -> Result<int> {
      auto e = BERTH_TRY(open_engine(g));
      for (auto& c : BERTH_TRY(e->list())) {
        if (c.status.state != "exited" && c.status.state != "created" && c.status.state != "dead")
          continue;
        if (auto r = e->remove(c.record.id, false, false); r) {
          fmt::print("{}\n", c.record.id);
        } else {
          fprintf(stderr, "berth: %s\n", r.error().text().c_str());
        }
      }
      return 0;
    });
  }
}

const BerthVerbs kVerbs("container-ops",
                        {"stop", "restart", "kill", "rm", "ps", "logs", "exec", "container", "wait",
                         "top", "stats", "pause", "unpause", "rename", "port"},
                        add);

}  // namespace
}  // namespace berth::cli
