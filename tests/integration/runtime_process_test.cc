// The process: args, env, cwd, user and groups, umask, noNewPrivileges, oomScoreAdj, rlimits,
// capabilities; and the runtime's own fds, cwd and binary never reach the container.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/runtime_fixture.h"

namespace berth::test {
namespace {

using Process = RuntimeTest;

TEST_F(Process, ArgsEnvCwdAndHome) {
  Bundle b;
  b.config()["process"]["env"] = {"PATH=/bin", "GREETING=hi there"};
  b.config()["process"]["cwd"] = "/tmp";
  b.set_args({"sh", "-c", "echo \"$GREETING\"; pwd; echo $HOME; echo \"$0|$1\"", "zero", "one"});
  EXPECT_EQ(run_ok(b), "hi there\n/tmp\n/root\nzero|one\n");
}

TEST_F(Process, UserGroupsAndUmask) {
  Bundle b;
  b.config()["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"umask", 23}, {"additionalGids", {5, 1001}}};
  b.set_args({"/probe", "ids"});
  EXPECT_EQ(run_ok(b), "uid=1000 gid=1000 umask=0027 groups=5,1001\n");
  b.set_args({"sh", "-c", "echo $HOME"});
  EXPECT_EQ(run_ok(b), "/home/user\n");
}

TEST_F(Process, NoNewPrivileges) {
  Bundle b;
  b.set_args({"grep", "NoNewPrivs", "/proc/self/status"});
  b.config()["process"]["noNewPrivileges"] = true;
  EXPECT_NE(run_ok(b).find("1"), std::string::npos);
  b.config()["process"]["noNewPrivileges"] = false;
  EXPECT_NE(run_ok(b).find("0"), std::string::npos);
}

TEST_F(Process, OomScoreAdj) {
  Bundle b;
  b.config()["process"]["oomScoreAdj"] = 500;
  b.set_args({"cat", "/proc/self/oom_score_adj"});
  EXPECT_EQ(run_ok(b), "500\n");
}

TEST_F(Process, Rlimits) {
  Bundle b;
  b.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 1000}},
                                      {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  b.set_args({"sh", "-c", "/probe rlimit NOFILE; /probe rlimit CORE"});
  EXPECT_EQ(run_ok(b), "512 1000\n0 0\n");
}

TEST_F(Process, RlimitAboveTheHostHardLimitIsAClearError) {
  rlimit cur{};
  getrlimit(RLIMIT_NOFILE, &cur);
  Bundle b;
  b.config()["process"]["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", cur.rlim_max + 1}, {"hard", cur.rlim_max + 1}}};
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("RLIMIT_NOFILE"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

TEST_F(Process, UnknownRlimitAndCapabilityAreErrors) {
  Bundle b;
  b.config()["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.err.find("RLIMIT_BOGUS"), std::string::npos) << r.err;
  Bundle c;
  c.config()["process"]["capabilities"]["bounding"] = {"CAP_CHOWN", "CAP_FLY"};
  r = rt.run_bundle(c);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("CAP_FLY"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("process.capabilities.bounding"), std::string::npos) << r.err;
}

TEST_F(Process, CapabilitySets) {
  Bundle b;
  b.config()["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"}},
                                           {"effective", {"CAP_CHOWN", "CAP_KILL"}},
                                           {"permitted", {"CAP_CHOWN", "CAP_KILL"}},
                                           {"inheritable", {"CAP_KILL"}},
                                           {"ambient", {"CAP_KILL"}}};
  b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.set_args({"grep", "^Cap", "/proc/self/status"});
  std::string out = run_ok(b);
  // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_RAW=13. A non-root exec keeps only the ambient set.
  EXPECT_NE(out.find("CapInh:\t0000000000000020"), std::string::npos) << out;
  EXPECT_NE(out.find("CapPrm:\t0000000000000020"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000020"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t0000000000002021"), std::string::npos) << out;
  EXPECT_NE(out.find("CapAmb:\t0000000000000020"), std::string::npos) << out;
}

TEST_F(Process, MissingProgramFailsAtCreate) {
  Bundle b;
  b.set_args({"no-such-program"});
  std::string id = rt.new_id();
  CmdResult r = create_detached(b, id);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no-such-program"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Process, BadConfigGivesOneLineNamingTheField) {
  struct Case {
    std::string config;
    std::string expect;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {R"({"ociVersion":"1.2.0","root":{"path":"/"},"process":{"args":["true"],"user":{"uid":"x"}}})",
       "process.user.uid"},
      {R"({"ociVersion":"1.2.0","root":{"path":"/"},"process":{"args":[],"cwd":"/"}})",
       "process.args"},
      {R"({"ociVersion":"1.2.0","root":{"path":"/"},"process":{"args":["true"],"cwd":"rel"}})",
       "process.cwd"},
      {R"({"ociVersion":"1.2.0","root":{"path":"/"},"mounts":[{"destination":"rel","type":"tmpfs"}]})",
       "mounts[0].destination"},
      {R"({"ociVersion":"1.2.0","root":{"path":"/"},"linux":{"namespaces":[{"type":"bogus"}]}})",
       "linux.namespaces[0].type"},
      {R"({"root":{"path":"/"}})", "ociVersion"},
  };
  for (const auto& c : cases) {
    TempDir d;
    std::ofstream(d.path() + "/config.json") << c.config;
    std::string id = rt.new_id();
    CmdResult r = rt({"create", "--bundle", d.path(), id});
    EXPECT_NE(r.exit_code, 0) << c.config;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.config << " -> " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(file_exists(rt.root() + "/" + id));
  }
  CmdResult nob = rt({"create", "--bundle", "/no/such/bundle", rt.new_id()});
  EXPECT_NE(nob.err.find("/no/such/bundle"), std::string::npos) << nob.err;
}

TEST_F(Process, OnlyStdioAndPreservedFdsReachTheContainer) {
  Bundle b;
  b.set_args({"/probe", "fds"});
  b.write();
  std::string id = rt.new_id();
  // berth-runtime starts with fds 3 (preserved), 7 and 9 (leaks of the caller).
  std::string cmd = "exec 3</etc/hostname 7</etc/passwd 9</etc/group; " +
                    std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() +
                    " run --preserve-fds 1 --bundle " + b.dir() + " " + id;
  CmdResult r = sh(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 /etc/hostname"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("7 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("9 "), std::string::npos) << r.out;
  std::string id2 = rt.new_id();
  r = sh("exec 3</etc/hostname; " + std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() +
         " run --bundle " + b.dir() + " " + id2);
  EXPECT_EQ(r.out.find("3 "), std::string::npos) << r.out;
  int lines = static_cast<int>(std::count(r.out.begin(), r.out.end(), '\n'));
  EXPECT_EQ(lines, 3) << r.out;
}

TEST_F(Process, CwdIsInsideTheContainerEvenWhenTheRuntimeRunsElsewhere) {
  Bundle b;
  b.set_args({"/probe", "cwd"});
  b.write();
  std::string id = rt.new_id();
  CmdResult r = sh("cd /sys/fs/cgroup/memory && " + std::string(BERTH_RUNTIME_BIN) + " --root " +
                   rt.root() + " run --bundle " + b.dir() + " " + id);
  EXPECT_EQ(r.out, "/\n");
}

TEST_F(Process, TheContainerCannotReachTheRuntimeBinary) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  int pid = nlohmann::json::parse(rt({"state", id}).out)["pid"].get<int>();
  // While waiting for start, the container process is the sealed helper, not berth-runtime.
  char buf[4096];
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
  ASSERT_GT(n, 0);
  std::string exe(buf, static_cast<size_t>(n));
  EXPECT_NE(exe.find("memfd:berth-exec"), std::string::npos) << exe;
  EXPECT_EQ(exe.find("berth-runtime"), std::string::npos) << exe;
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  // start returns once the helper has its byte; its exec of the program follows (a loaded
  // machine may take a while).
  for (int i = 0; i < 250; ++i) {
    n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    exe.assign(buf, static_cast<size_t>(n > 0 ? n : 0));
    if (exe.find("busybox") != std::string::npos) break;
    usleep(20 * 1000);
  }
  EXPECT_NE(exe.find("busybox"), std::string::npos) << exe;
}

TEST_F(Process, AShebangToProcSelfExeRunsTheHelperNotTheRuntime) {
  // CVE-2019-5736: an image whose program is "#!/proc/self/exe" re-executes whatever the
  // exec'ing process is. With the helper, that is the sealed memfd copy, never the host file.
  Bundle b;
  b.private_rootfs();
  sh("printf '#!/proc/self/exe\\n' > " + b.dir() + "/rootfs/evil && chmod +x " + b.dir() +
     "/rootfs/evil");
  b.set_args({"/evil"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("berth-runtime version"), std::string::npos);
  EXPECT_EQ(r.err.find("Usage"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
