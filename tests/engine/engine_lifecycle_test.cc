// Detached containers: the verbs around them, logs, restart policies, health, recovery.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "engine/engine_fixture.h"

namespace berth::test {
namespace {

using Lifecycle = EngineTest;

TEST_F(Lifecycle, DetachedVerbs) {
  std::string id = trim(ok({"run", "-d", "--network", "none", "--name", "web", "--label", "tier=a",
                            "busybox", "sh", "-c", "echo started; exec sleep 300"}));
  EXPECT_EQ(id.size(), 64u) << id;
  EXPECT_EQ(state_of("web"), "running");
  // ps: running ones by default, filters, quiet, json.
  EXPECT_EQ(trim(ok({"ps", "-q"})), id.substr(0, 12));
  EXPECT_EQ(trim(ok({"ps", "-q", "--filter", "label=tier=a"})), id.substr(0, 12));
  EXPECT_EQ(trim(ok({"ps", "-q", "--filter", "name=nope"})), "");
  EXPECT_EQ(trim(ok({"ps", "-q", "--filter", "status=running"})), id.substr(0, 12));
  // exec: env, user, workdir, exit code; -d leaves it running.
  EXPECT_EQ(ok({"exec", "-e", "V=1", "-u", "1000", "-w", "/tmp", "web", "sh", "-c",
                "echo $V $(id -u) $(pwd)"}),
            "1 1000 /tmp\n");
  EXPECT_EQ(berth({"exec", "web", "sh", "-c", "exit 4"}).exit_code, 4);
  EXPECT_EQ(berth({"exec", "web", "no-such-cmd"}).exit_code, 127);
  ok({"exec", "-d", "web", "sh", "-c", "echo bg > /tmp/bg"});
  EXPECT_TRUE(eventually([&] { return berth({"exec", "web", "cat", "/tmp/bg"}).out == "bg\n"; }));
  EXPECT_EQ(ok({"exec", "-i", "web", "cat"}, "piped\n"), "piped\n");
  // top and stats read the container's processes and cgroup.
  EXPECT_NE(ok({"top", "web"}).find("sleep 300"), std::string::npos);
  auto stats = nlohmann::json::parse(ok({"stats", "--no-stream", "--format", "json", "web"}));
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_GT(stats[0]["MemoryUsage"].get<uint64_t>(), 0u) << stats.dump();
  EXPECT_GE(stats[0]["Pids"].get<int>(), 1) << stats.dump();
  // pause / unpause.
  ok({"pause", "web"});
  EXPECT_EQ(state_of("web"), "paused");
  EXPECT_NE(berth({"pause", "web"}).exit_code, 0);
  ok({"unpause", "web"});
  EXPECT_EQ(state_of("web"), "running");
  // rename, inspect.
  ok({"rename", "web", "web2"});
  auto j = inspect("web2");
  EXPECT_EQ(j["Id"], id);
  EXPECT_EQ(j["State"]["Status"], "running");
  EXPECT_EQ(j["Config"]["labels"]["tier"], "a") << j["Config"].dump();
  EXPECT_GT(j["State"]["Pid"].get<int>(), 0);
  // rm refuses a running container; stop (sleep as pid 1 ignores SIGTERM: SIGKILL after -t).
  CmdResult rm = berth({"rm", "web2"});
  EXPECT_NE(rm.exit_code, 0);
  EXPECT_NE(rm.err.find("stop"), std::string::npos) << rm.err;
  ok({"stop", "-t", "1", "web2"});
  EXPECT_EQ(state_of("web2"), "exited");
  EXPECT_EQ(inspect("web2")["State"]["ExitCode"], 137);
  // start again: the same container, its log keeps both lives.
  ok({"start", "web2"});
  EXPECT_EQ(state_of("web2"), "running");
  EXPECT_TRUE(eventually([&] { return ok({"logs", "web2"}) == "started\nstarted\n"; }));
  ok({"restart", "-t", "0", "web2"});
  EXPECT_EQ(state_of("web2"), "running");
  ok({"kill", "-s", "KILL", "web2"});
  EXPECT_EQ(trim(ok({"wait", "web2"})), "137");
  ok({"rm", "web2"});
  EXPECT_EQ(ok({"ps", "-a", "-q"}), "");
  // Unknown containers are a clear error.
  CmdResult unknown = berth({"stop", "nope"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("nope"), std::string::npos) << unknown.err;
}

TEST_F(Lifecycle, CreateThenStartAttachedAndWait) {
  ok({"create", "--network", "none", "--name", "c1", "busybox", "sh", "-c", "echo out; exit 6"});
  EXPECT_EQ(state_of("c1"), "created");
  CmdResult r = berth({"start", "-a", "c1"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(trim(ok({"wait", "c1"})), "6");
  // rm -f of anything: created, exited, running.
  ok({"create", "--network", "none", "--name", "c2", "busybox", "true"});
  ok({"run", "-d", "--network", "none", "--name", "c3", "busybox", "sleep", "300"});
  ok({"rm", "-f", "c1", "c2", "c3"});
  EXPECT_EQ(ok({"ps", "-a", "-q"}), "");
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST_F(Lifecycle, LogsTailSinceTimestampsFollow) {
  ok({"run", "-d", "--network", "none", "--name", "l", "busybox", "sh", "-c",
      "echo one; echo two >&2; echo three; sleep 1; echo four"});
  EXPECT_TRUE(eventually([&] { return ok({"logs", "l"}).find("three") != std::string::npos; }));
  CmdResult all = berth({"logs", "l"});
  EXPECT_EQ(all.out.substr(0, 10), "one\nthree\n") << all.out;
  EXPECT_EQ(all.err, "two\n");
  // stdout and stderr are separate pipes: their relative order is not defined. --tail
  // counts lines of both.
  CmdResult tail = berth({"logs", "--tail", "2", "l"});
  EXPECT_EQ(tail.out.find("one"), std::string::npos) << tail.out;
  EXPECT_NE(tail.out.find("three"), std::string::npos) << tail.out;
  std::string ts = ok({"logs", "-t", "l"});
  EXPECT_EQ(ts.substr(0, 2), "20") << ts;  // RFC 3339 time first
  EXPECT_NE(ts.find("Z "), std::string::npos) << ts;
  // -f follows until the container exits.
  CmdResult f = berth({"logs", "-f", "l"}, "", 30);
  EXPECT_EQ(f.exit_code, 0);
  EXPECT_NE(f.out.find("four"), std::string::npos) << f.out;
  EXPECT_EQ(ok({"logs", "--since", "1h", "l"}).find("one"), 0u);
  EXPECT_EQ(ok({"logs", "--since", "2099-01-01T00:00:00Z", "l"}), "");
}

TEST_F(Lifecycle, LogRotationKeepsItsBounds) {
  ok({"run", "-d", "--network", "none", "--name", "chatty", "--log-opt", "max-size=20k",
      "--log-opt", "max-file=3", "busybox", "sh", "-c",
      "i=0; while [ $i -lt 3000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done"});
  ASSERT_EQ(trim(ok({"wait", "chatty"})), "0");
  std::string id = inspect("chatty")["Id"];
  std::string log = root() + "/containers/" + id + "/container.log";
  struct stat st {};
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 20 * 1024 + 200);
  int files = 0;
  for (const std::string suffix : {"", ".1", ".2", ".3"}) {
    if (stat((log + suffix).c_str(), &st) != 0) continue;
    ++files;
    EXPECT_LE(st.st_size, 20 * 1024 + 200) << suffix;
  }
  EXPECT_EQ(files, 3);
  // The newest lines are kept; logs reads across the rotated files in order.
  std::string out = ok({"logs", "chatty"});
  EXPECT_NE(out.find("line-2999-"), std::string::npos);
  EXPECT_EQ(out.find("line-0-"), std::string::npos);
  EXPECT_LT(out.find("line-2998-"), out.find("line-2999-"));
}

TEST_F(Lifecycle, RestartPolicies) {
  ok({"run", "-d", "--network", "none", "--name", "crash", "--restart", "on-failure:3", "busybox",
      "sh", "-c", "echo try; exit 2"});
  ASSERT_TRUE(eventually(
      [&] {
        auto j = inspect("crash");
        return j["RestartCount"] == 3 && j["State"]["Status"] == "exited";
      },
      30000))
      << inspect("crash").dump();
  EXPECT_EQ(inspect("crash")["State"]["ExitCode"], 2);
  EXPECT_EQ(ok({"logs", "crash"}), "try\ntry\ntry\ntry\n");
  // on-failure does not restart a clean exit; always does, until stopped.
  ok({"run", "-d", "--network", "none", "--name", "clean", "--restart", "on-failure", "busybox",
      "true"});
  ok({"run", "-d", "--network", "none", "--name", "forever", "--restart", "always", "busybox", "sh",
      "-c", "sleep 0.2"});
  ASSERT_TRUE(eventually([&] { return inspect("forever")["RestartCount"] >= 2; }, 30000));
  EXPECT_EQ(inspect("clean")["RestartCount"], 0);
  ok({"stop", "-t", "1", "forever"});
  int count = inspect("forever")["RestartCount"];
  usleep(1500 * 1000);
  EXPECT_EQ(state_of("forever"), "exited");
  EXPECT_EQ(inspect("forever")["RestartCount"], count);
  CmdResult bad = berth({"run", "-d", "--restart", "sometimes", "busybox", "true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_NE(bad.err.find("restart"), std::string::npos) << bad.err;
}

TEST_F(Lifecycle, HealthChecksChangeState) {
  ok({"run", "-d", "--network", "none", "--name", "h", "--health-cmd", "test -f /tmp/ok",
      "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "2s",
      "--health-start-period", "0s", "busybox", "sleep", "300"});
  EXPECT_TRUE(eventually([&] { return inspect("h")["State"]["Health"]["Status"] == "unhealthy"; }))
      << inspect("h").dump();
  ok({"exec", "h", "touch", "/tmp/ok"});
  EXPECT_TRUE(eventually([&] { return inspect("h")["State"]["Health"]["Status"] == "healthy"; }));
  auto ps = nlohmann::json::parse(ok({"ps", "--format", "json"}));
  EXPECT_NE(ps[0]["Status"].get<std::string>().find("healthy"), std::string::npos) << ps.dump();
}

TEST_F(Lifecycle, MonitorKilledIsDetectedAndRepaired) {
  ok({"run", "-d", "--network", "none", "--name", "m", "busybox", "sleep", "300"});
  std::string id = inspect("m")["Id"];
  pid_t monitor = monitor_pid(id);
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(kill(monitor, SIGKILL), 0);
  reap_orphans();
  // The container outlives its monitor; berth still sees it and can stop it.
  usleep(200 * 1000);
  reap_orphans();
  EXPECT_EQ(state_of("m"), "running");
  pid_t pid = inspect("m")["State"]["Pid"];
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  EXPECT_TRUE(eventually([&] {
    reap_orphans();
    return state_of("m") == "exited";
  }));
  EXPECT_EQ(inspect("m")["State"]["ExitCode"], 255);
  ok({"rm", "m"});
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

TEST_F(Lifecycle, MonitorStopsWhenItsContainerIsRemovedBehindItsBack) {
  ok({"run", "-d", "--network", "none", "--name", "orphan", "--restart", "always", "busybox", "sh",
      "-c", "sleep 0.3"});
  std::string id = inspect("orphan")["Id"];
  pid_t monitor = monitor_pid(id);
  ASSERT_GT(monitor, 0);
  // A store deleted by hand (rm -rf of the container's dirs): the monitor must not go on
  // restarting a container nobody can see.
  sh("rm -rf " + state() + "/monitor/" + id + " " + root() + "/containers/" + id);
  EXPECT_TRUE(eventually(
      [&] {
        reap_orphans();
        return kill(monitor, 0) != 0;
      },
      15000));
}

TEST_F(Lifecycle, SystemBootRestartsAlwaysContainers) {
  ok({"run", "-d", "--network", "none", "--name", "svc", "--restart", "always", "busybox", "sleep",
      "300"});
  ok({"run", "-d", "--network", "none", "--name", "once", "busybox", "sleep", "300"});
  ok({"exec", "svc", "sh", "-c", "echo kept > /kept"});
  // A "reboot": every process gone, /run emptied, the root file systems unmounted.
  std::string svc = inspect("svc")["Id"], once = inspect("once")["Id"];
  std::vector<pid_t> pids;
  for (const auto& n : {"svc", "once"}) pids.push_back(inspect(n)["State"]["Pid"].get<int>());
  for (const auto& id : {svc, once}) {
    pid_t m = monitor_pid(id);
    ASSERT_GT(m, 0);
    kill(m, SIGKILL);
  }
  for (pid_t p : pids) {
    ASSERT_GT(p, 0);
    kill(p, SIGKILL);
  }
  EXPECT_TRUE(eventually([&] {
    reap_orphans();
    return state_of("svc") == "exited" && state_of("once") == "exited";
  }));
  for (const auto& id : {svc, once})
    ASSERT_EQ(umount2((root() + "/snapshots/" + id + "/rootfs").c_str(), MNT_DETACH), 0) << id;
  ok({"system", "boot"});
  EXPECT_EQ(state_of("svc"), "running");
  // Its overlay is mounted again on the kept upper layer.
  EXPECT_EQ(ok({"exec", "svc", "cat", "/kept"}), "kept\n");
  EXPECT_EQ(state_of("once"), "exited");
}

TEST_F(Lifecycle, PruneDfInfoVersion) {
  ok({"run", "--network", "none", "--name", "done1", "busybox", "true"});
  ok({"run", "-d", "--network", "none", "--name", "live", "busybox", "sleep", "300"});
  std::string df = ok({"system", "df"});
  EXPECT_NE(df.find("Containers"), std::string::npos) << df;
  EXPECT_NE(df.find("Images"), std::string::npos) << df;
  ok({"container", "prune", "-f"});
  EXPECT_EQ(state_of("done1"), "");
  EXPECT_EQ(state_of("live"), "running");
  EXPECT_NE(ok({"info"}).find("cgroup"), std::string::npos);
  EXPECT_NE(ok({"version"}).find("berth"), std::string::npos);
  ok({"stop", "-t", "0", "live"});
  ok({"system", "prune", "-f"});
  EXPECT_EQ(ok({"ps", "-a", "-q"}), "");
}

}  // namespace
}  // namespace berth::test
