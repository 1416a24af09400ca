// berth-runtime lifecycle: create leaves the process waiting, start runs it, state tells the
// truth, kill signals, delete cleans up; errors for unknown and duplicate ids.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/runtime_fixture.h"

namespace berth::test {
namespace {

using Lifecycle = RuntimeTest;

TEST_F(Lifecycle, RunPrintsOutputAndReturnsExitCode) {
  Bundle b;
  b.set_args({"echo", "hello from berth"});
  EXPECT_EQ(run_ok(b), "hello from berth\n");
  b.set_args({"sh", "-c", "exit 7"});
  EXPECT_EQ(rt.run_bundle(b).exit_code, 7);
}

TEST_F(Lifecycle, RunReturns128PlusSignalWhenKilled) {
  // The init of a pid namespace ignores SIGKILL from inside: kill it from the host.
  Bundle b;
  b.set_args({"sleep", "30"});
  b.write();
  std::string id = rt.new_id();
  std::string bin = BERTH_RUNTIME_BIN;
  CmdResult r = sh(bin + " --root " + rt.root() + " run --bundle " + b.dir() + " " + id +
                   " & for i in $(seq 100); do " + bin + " --root " + rt.root() + " state " + id +
                   " 2>/dev/null | grep -q running && break; sleep 0.05; done; " + bin +
                   " --root " + rt.root() + " kill " + id + " KILL; wait $!; echo rc=$?");
  EXPECT_NE(r.out.find("rc=137"), std::string::npos) << r.out << r.err;
}

TEST_F(Lifecycle, CreateWaitsForStartThenRunsAndStops) {
  TempDir data;
  Bundle b;
  b.config()["mounts"].push_back({{"destination", "/data"},
                                  {"type", "bind"},
                                  {"source", data.path()},
                                  {"options", {"rbind"}}});
  b.set_args({"sh", "-c", "echo started > /data/marker; exec sleep 30"});
  std::string id = rt.new_id();
  CmdResult c = create_detached(b, id);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(state_status(id), "created");
  usleep(100 * 1000);
  EXPECT_FALSE(file_exists(data.path() + "/marker")) << "the program ran before start";
  nlohmann::json st = nlohmann::json::parse(rt({"state", id}).out);
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_EQ(st["bundle"], b.dir());
  EXPECT_EQ(st["id"], id);

  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  EXPECT_EQ(wait_for_output(data.path() + "/marker", "started"), "started\n");
  EXPECT_EQ(state_status(id), "running");

  CmdResult again = rt({"start", id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("not created"), std::string::npos) << again.err;

  CmdResult del = rt({"delete", id});
  EXPECT_NE(del.exit_code, 0) << "delete of a running container must need --force";
  EXPECT_NE(del.err.find("running"), std::string::npos) << del.err;

  ASSERT_EQ(rt({"kill", id, "KILL"}).exit_code, 0);
  for (int i = 0; i < 100 && state_status(id) != "stopped"; ++i) usleep(20 * 1000);
  EXPECT_EQ(state_status(id), "stopped");
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
  CmdResult gone = rt({"state", id});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
}

TEST_F(Lifecycle, StateIsStoppedAfterTheContainerExitsOnItsOwn) {
  Bundle b;
  b.set_args({"true"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  for (int i = 0; i < 200 && state_status(id) != "stopped"; ++i) usleep(10 * 1000);
  EXPECT_EQ(state_status(id), "stopped");
  nlohmann::json st = nlohmann::json::parse(rt({"state", id}).out);
  EXPECT_EQ(st["pid"], 0);
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
}

TEST_F(Lifecycle, DeleteOfCreatedContainerKillsItsProcess) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  int pid = nlohmann::json::parse(rt({"state", id}).out)["pid"].get<int>();
  ASSERT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NE(kill(pid, 0) == 0 && read_file("/proc/" + std::to_string(pid) + "/stat").find(" Z ") ==
                                     std::string::npos,
            true)
      << "the container's init is still alive";
}

TEST_F(Lifecycle, KillDeliversTheSignal) {
  Bundle b;
  b.set_args({"/probe", "wait-signal"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  ASSERT_NE(wait_for_output(b.dir() + "/out", "ready").find("ready"), std::string::npos);
  ASSERT_EQ(rt({"kill", id, "USR1"}).exit_code, 0);
  EXPECT_NE(wait_for_output(b.dir() + "/out", "signal 10").find("signal 10"), std::string::npos);
  CmdResult bad = rt({"kill", id, "NOSUCHSIG"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("NOSUCHSIG"), std::string::npos) << bad.err;
}

TEST_F(Lifecycle, KillAllSignalsEveryProcessOfTheContainer) {
  Bundle b;
  b.set_args({"sh", "-c", "sleep 30 & sleep 30 & wait"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  usleep(200 * 1000);
  ASSERT_EQ(rt({"kill", "--all", id, "KILL"}).exit_code, 0);
  for (int i = 0; i < 200 && state_status(id) != "stopped"; ++i) usleep(10 * 1000);
  EXPECT_EQ(state_status(id), "stopped");
}

TEST_F(Lifecycle, DeleteForceStopsARunningContainer) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
}

TEST_F(Lifecycle, DuplicateIdIsRefusedAndTheFirstKeepsRunning) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  CmdResult dup = create_detached(b, id);
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;
  EXPECT_EQ(state_status(id), "created");
}

TEST_F(Lifecycle, UnknownIdIsAnErrorForEveryVerb) {
  for (auto verb : {"start", "state", "delete", "kill"}) {
    CmdResult r = rt({verb, "no-such-container"});
    EXPECT_NE(r.exit_code, 0) << verb;
    EXPECT_NE(r.err.find("no-such-container"), std::string::npos) << verb << ": " << r.err;
  }
}

TEST_F(Lifecycle, BadIdIsRefused) {
  Bundle b;
  b.write();
  for (std::string id : {"../escape", "a/b", "..", "has space"}) {
    CmdResult r = rt({"create", "--bundle", b.dir(), id});
    EXPECT_NE(r.exit_code, 0) << id;
    EXPECT_NE(r.err.find("container id"), std::string::npos) << r.err;
  }
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Lifecycle, PidFileAndListJson) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  std::string pidfile = b.dir() + "/init.pid";
  ASSERT_EQ(create_detached(b, id, {"--pid-file", pidfile}).exit_code, 0);
  int pid = nlohmann::json::parse(rt({"state", id}).out)["pid"].get<int>();
  EXPECT_EQ(read_file(pidfile), std::to_string(pid));
  nlohmann::json list = nlohmann::json::parse(rt({"list", "--format", "json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["status"], "created");
  EXPECT_NE(rt({"list"}).out.find(id), std::string::npos);
}

TEST_F(Lifecycle, AnnotationsAppearInState) {
  Bundle b;
  b.config()["annotations"] = {{"org.example.key", "value"}};
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  nlohmann::json st = nlohmann::json::parse(rt({"state", id}).out);
  EXPECT_EQ(st["annotations"]["org.example.key"], "value");
  EXPECT_EQ(st["ociVersion"], "1.2.0");
}

TEST_F(Lifecycle, RunDetachReturnsWhileTheContainerRuns) {
  Bundle b;
  b.set_args({"sleep", "30"});
  b.write();
  std::string id = rt.new_id();
  CmdResult r = sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " run -d --bundle " +
                   b.dir() + " " + id + " >/dev/null 2>&1");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(state_status(id), "running");
}

TEST_F(Lifecycle, RunStartsWithinCreateUnlessHooksNeedTheStep) {
  // run folds start into create: the exec helper does not wait on an exec fifo.
  TempDir d;
  std::string log = d.path() + "/log";
  Bundle b;
  b.set_args({"sh", "-c", "echo ran"});
  b.write();
  std::string id = rt.new_id();
  CmdResult r = rt({"--debug", "--log", log, "run", "--bundle", b.dir(), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_NE(read_file(log).find("started within create"), std::string::npos) << read_file(log);
  // A startContainer hook runs between the two steps: then create stops at "created".
  Bundle h;
  h.set_args({"sh", "-c", "echo ran"});
  h.config()["hooks"]["startContainer"] = {{{"path", "/bin/true"}}};
  h.write();
  std::string log2 = d.path() + "/log2";
  std::string id2 = rt.new_id();
  r = rt({"--debug", "--log", log2, "run", "--bundle", h.dir(), id2});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_EQ(read_file(log2).find("started within create"), std::string::npos) << read_file(log2);
}

TEST_F(Lifecycle, VersionHelpSpecAndFeatures) {
  EXPECT_NE(rt({"--version"}).out.find("berth-runtime version"), std::string::npos);
  for (auto verb :
       {"create", "start", "state", "kill", "delete", "run", "list", "spec", "features"}) {
    CmdResult h = rt({verb, "--help"});
    EXPECT_EQ(h.exit_code, 0) << verb;
    EXPECT_NE(h.out.find("Usage"), std::string::npos) << verb << h.out;
  }
  TempDir d;
  CmdResult s = rt({"spec", "--bundle", d.path()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  nlohmann::json spec = nlohmann::json::parse(read_file(d.path() + "/config.json"));
  EXPECT_EQ(spec["root"]["path"], "rootfs");
  EXPECT_NE(rt({"spec", "--bundle", d.path()}).exit_code, 0) << "spec must not overwrite";
  nlohmann::json f = nlohmann::json::parse(rt({"features"}).out);
  EXPECT_EQ(f["ociVersionMax"], "1.2.0");
  EXPECT_NE(f["linux"]["namespaces"].dump().find("time"), std::string::npos);
  TempDir r;
  CmdResult rl = rt({"spec", "--rootless", "--bundle", r.path()});
  ASSERT_EQ(rl.exit_code, 0);
  nlohmann::json rs = nlohmann::json::parse(read_file(r.path() + "/config.json"));
  EXPECT_EQ(rs["linux"]["uidMappings"].size(), 1u);
}

TEST_F(Lifecycle, LogFileGetsJsonErrorLines) {
  TempDir d;
  std::string log = d.path() + "/log.json";
  CmdResult r = rt({"--log", log, "--log-format", "json", "state", "nope"});
  EXPECT_NE(r.exit_code, 0);
  std::string text = read_file(log);
  ASSERT_FALSE(text.empty());
  nlohmann::json line = nlohmann::json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(line["level"], "error");
  EXPECT_NE(line["msg"].get<std::string>().find("nope"), std::string::npos);
}

TEST_F(Lifecycle, SystemdCgroupPathIsMappedToCgroupfs) {
  Bundle b;
  std::string id = rt.new_id();
  b.config()["linux"]["cgroupsPath"] = "berthtest-a.slice:berth:" + id;
  nlohmann::json ns = nlohmann::json::array();
  for (auto& n : b.config()["linux"]["namespaces"])
    if (n["type"] != "cgroup") ns.push_back(n);
  b.config()["linux"]["namespaces"] = ns;
  b.set_args({"cat", "/proc/self/cgroup"});
  b.write();
  CmdResult r = rt({"--systemd-cgroup", "run", "--bundle", b.dir(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("memory:/berthtest.slice/berthtest-a.slice/berth-" + id + ".scope"),
            std::string::npos)
      << r.out;
  // The slices made on cgroupfs go with the container, as systemd would remove them.
  EXPECT_FALSE(file_exists("/sys/fs/cgroup/memory/berthtest.slice"));
}

// The cgroup is made by a thread of berth-runtime while the init sets up (spawn.cc,
// CgroupHandoff): a limit the kernel refuses still fails `run` with the kernel's reason and
// the file at fault, not with what the init saw, and leaves nothing (the fixture checks).
TEST_F(Lifecycle, ACgroupLimitTheKernelRefusesFailsRunWithItsReason) {
  Bundle b;
  b.config()["linux"]["resources"]["cpu"]["cpus"] = "4000-4001";
  b.set_args({"echo", "must not run"});
  b.write();
  CmdResult r = rt({"run", "--bundle", b.dir(), rt.new_id()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("must not run"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cpuset.cpus"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("was not made"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
