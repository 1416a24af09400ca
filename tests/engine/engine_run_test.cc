// `berth run` and its flags, checked from inside real containers.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/engine_fixture.h"

namespace berth::test {
namespace {

using EngineRun = EngineTest;

TEST_F(EngineRun, EchoExitCodesAndDockerErrorCodes) {
  EXPECT_EQ(ok(rm_none({"busybox", "echo", "hello", "world"})), "hello world\n");
  EXPECT_EQ(berth(rm_none({"busybox", "sh", "-c", "exit 3"})).exit_code, 3);
  CmdResult nf = berth(rm_none({"busybox", "no-such-program"}));
  EXPECT_EQ(nf.exit_code, 127) << nf.err;
  CmdResult nx = berth(rm_none({"busybox", "/etc/passwd"}));
  EXPECT_EQ(nx.exit_code, 126) << nx.err;
  CmdResult noimg = berth(rm_none({"no-such-image:1", "true"}));
  EXPECT_EQ(noimg.exit_code, 125);
  EXPECT_NE(noimg.err.find("no-such-image"), std::string::npos) << noimg.err;
  CmdResult badflag = berth(rm_none({"--memory", "lots", "busybox", "true"}));
  EXPECT_EQ(badflag.exit_code, 125);
  EXPECT_NE(badflag.err.find("memory"), std::string::npos) << badflag.err;
  // An unknown flag before the image is an error, as Docker's; after it, the command's own.
  CmdResult unknown = berth(rm_none({"--no-such-flag", "busybox", "echo", "hi"}));
  EXPECT_EQ(unknown.exit_code, 125) << unknown.out;
  EXPECT_NE(unknown.err.find("unknown flag: --no-such-flag"), std::string::npos) << unknown.err;
  EXPECT_EQ(berth(rm_none({"--no-such-flag", "busybox"})).exit_code, 125);
  EXPECT_EQ(ok(rm_none({"busybox", "echo", "--no-such-flag"})), "--no-such-flag\n");
  EXPECT_EQ(ok(rm_none({"--name", "busybox", "busybox", "echo", "named"})), "named\n");
  // --rm leaves no record.
  EXPECT_EQ(ok({"ps", "-a", "-q"}), "");
}

// BERTH_TRACE=<ns since the epoch> makes berth print where a command's time went (base/trace.h):
// one line per mark, from main through the runtime and the container's init to the end.
TEST_F(EngineRun, TracePrintsThePhasesOfARun) {
  CmdResult r =
      sh("BERTH_TRACE=$(date +%s%N) " + berth_cmdline() + " run --rm --network none busybox true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* mark : {"ms  +", " main\n", "create: snapshot", "init: rootfs prepared",
                           "monitor: exit reaped", "rm: snapshot removed", "main: returning"})
    EXPECT_NE(r.err.find(mark), std::string::npos) << mark << " not in\n" << r.err;
  // Off by default: nothing on stderr.
  EXPECT_EQ(berth(rm_none({"busybox", "true"})).err, "");
}

// The runtime's mount points and the engine's /etc binds land on the store's bottom layer
// (image/snapshot.cc): a container that writes nothing leaves its upper layer empty, so
// removal has nothing to delete. The test image has /etc but no /etc/hosts.
TEST_F(EngineRun, ARunWritesNothingToItsUpperLayer) {
  std::string id = trim(ok({"run", "-d", "--network", "none", "busybox", "sleep", "300"}));
  EXPECT_EQ(ok({"exec", id, "cat", "/etc/hostname"}), id.substr(0, 12) + "\n");
  EXPECT_EQ(sh("ls -A " + root() + "/snapshots/" + id + "/upper").out, "");
  ok({"rm", "-f", id});
}

// With BERTH_STATIC the berth binary is static (no program interpreter) and cannot open shared
// libraries: nftables changes and registry commands run in berth-dynamic, next to it
// (base/dynlib.h). A wrapper in BERTH_DYNAMIC's place records that they did.
TEST_F(EngineRun, StaticBerthHandsLibraryWorkToBerthDynamic) {
  std::string bin = BERTH_CLI_BIN;
  std::string dyn = bin.substr(0, bin.rfind('/')) + "/berth-dynamic";
  if (access(dyn.c_str(), X_OK) != 0) GTEST_SKIP() << "berth is not static in this build";
  std::ifstream elf(bin, std::ios::binary);
  std::string head(64, '\0');
  elf.read(head.data(), 64);
  uint64_t phoff;
  uint16_t phentsize, phnum;
  std::memcpy(&phoff, head.data() + 32, 8);
  std::memcpy(&phentsize, head.data() + 54, 2);
  std::memcpy(&phnum, head.data() + 56, 2);
  for (uint16_t i = 0; i < phnum; ++i) {
    uint32_t type = 0;
    elf.seekg(static_cast<std::streamoff>(phoff + uint64_t{i} * phentsize));
    elf.read(reinterpret_cast<char*>(&type), 4);
    EXPECT_NE(type, 3u) << "berth has a program interpreter (PT_INTERP): it is not static";
  }
  TempDir tmp("berth-dyn-wrap");
  std::string log = tmp.path() + "/log", wrap = tmp.path() + "/wrap.sh";
  std::ofstream(wrap) << "#!/bin/sh\necho \"$*\" >>" << log << "\nexec " << dyn << " \"$@\"\n";
  ASSERT_EQ(chmod(wrap.c_str(), 0755), 0);
  std::string env = "BERTH_DYNAMIC=" + wrap + " ";
  CmdResult r = sh(env + berth_cmdline() + " run --rm -p 127.0.0.1::80 busybox true");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  CmdResult p = sh(env + berth_cmdline() + " pull 127.0.0.1:1/nothing/here:1");
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.err.find("127.0.0.1:1"), std::string::npos) << p.err;
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("network nft-helper run"), std::string::npos) << text;
  EXPECT_NE(text.find("pull 127.0.0.1:1/nothing/here:1"), std::string::npos) << text;
}

// Each area builds only its own verbs when the command line names one of them (app.h): a
// verb listed under the wrong area would then be unknown. Every verb of the full help must
// answer its own --help.
TEST_F(EngineRun, EveryVerbHasHelp) {
  std::string help = ok({"--help"});
  size_t at = help.find("Subcommands:");
  ASSERT_NE(at, std::string::npos) << help;
  std::istringstream lines(help.substr(at));
  std::string line;
  std::getline(lines, line);
  int verbs = 0;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string verb;
    if (!(words >> verb)) continue;
    ++verbs;
    CmdResult r = berth({verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.err;
    EXPECT_NE(r.out.find("Usage: berth " + verb), std::string::npos) << verb << ": " << r.out;
  }
  EXPECT_GE(verbs, 35);
}

// --network container:X shares X's namespace. A gone container's veth is normally left to
// the kernel to delete with its namespace; a namespace that another container keeps alive
// loses it at once instead (as with Docker), so no veth outlives its record and address.
TEST_F(EngineRun, NetworkOfAnotherContainer) {
  ok({"run", "-d", "--name", "owner", "busybox", "sleep", "60"});
  ok({"run", "-d", "--name", "joiner", "--network", "container:owner", "busybox", "sleep", "60"});
  std::string owner_addr = ok({"exec", "owner", "ip", "-o", "-4", "addr", "show", "eth0"});
  EXPECT_EQ(ok({"exec", "joiner", "ip", "-o", "-4", "addr", "show", "eth0"}), owner_addr);
  ok({"rm", "-f", "owner"});
  std::string links = ok({"exec", "joiner", "ip", "-o", "link"});
  EXPECT_EQ(links.find("eth0"), std::string::npos) << links;
  ok({"rm", "-f", "joiner"});
}

TEST_F(EngineRun, OnlyThrowawayRootsSkipSyncs) {
  // `run --rm` mounts its overlay "volatile" (no syncs, not even at unmount); a container
  // that is kept must not lose its files to a host crash, so its root syncs as usual.
  std::string rm_root = ok(rm_none({"busybox", "grep", " / / ", "/proc/self/mountinfo"}));
  EXPECT_NE(rm_root.find("volatile"), std::string::npos) << rm_root;
  std::string kept = ok({"run", "--name", "kept", "--network", "none", "busybox", "grep", " / / ",
                         "/proc/self/mountinfo"});
  EXPECT_NE(kept.find("overlay"), std::string::npos) << kept;
  EXPECT_EQ(kept.find("volatile"), std::string::npos) << kept;
  ok({"rm", "kept"});
}

TEST_F(EngineRun, RemovedBundlesAndRootsAreEmptiedAndReused) {
  // A removed container's bundle directory and snapshot tree are emptied and kept as spares
  // (image/fs_util.h); the next container takes them. Nothing of the first one is left in
  // them.
  auto spares = [&](const std::string& dir) {
    std::vector<std::string> out;
    std::string d = root() + "/" + dir + "/.spare";
    if (std::filesystem::exists(d))
      for (const auto& e : std::filesystem::directory_iterator(d)) {
        out.push_back(e.path().filename());
        if (dir == "containers") {
          EXPECT_TRUE(std::filesystem::is_empty(e.path())) << e.path();
        }
      }
    return out;
  };
  ok(rm_none({"busybox", "sh", "-c", "echo one; echo secret > /left"}));
  ASSERT_EQ(spares("containers").size(), 1u);
  ASSERT_EQ(spares("snapshots").size(), 1u);
  std::string id = trim(ok({"run", "-d", "--network", "none", "busybox", "sleep", "300"}));
  EXPECT_TRUE(spares("containers").empty());
  EXPECT_TRUE(spares("snapshots").empty());
  EXPECT_EQ(berth({"exec", id, "cat", "/left"}).exit_code, 1);
  EXPECT_EQ(ok({"logs", id}), "");
  ok({"rm", "-f", id});
  EXPECT_EQ(spares("containers").size(), 1u);
}

TEST_F(EngineRun, ARunEmptiesTheSnapshotTrashWhileItsContainerRuns) {
  // A removed snapshot's overlayfs work directory goes to snapshots/.trash (deleting it costs
  // ext4 a synchronous discard per directory on the reference VM); the next `run` deletes it
  // on a thread while its container runs, and `rm` before it returns.
  auto trash = [&] {
    std::vector<std::string> out;
    std::string d = root() + "/snapshots/.trash";
    if (std::filesystem::exists(d))
      for (const auto& e : std::filesystem::directory_iterator(d))
        out.push_back(e.path().filename());
    return out;
  };
  ok(rm_none({"busybox", "true"}));
  auto first = trash();
  ASSERT_EQ(first.size(), 1u);
  ok(rm_none({"busybox", "true"}));
  auto second = trash();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
  std::string id = trim(ok({"run", "-d", "--network", "none", "busybox", "sleep", "300"}));
  ok({"rm", "-f", id});
  EXPECT_TRUE(trash().empty());
}

TEST_F(EngineRun, EtcFilesLiveWithTheRuntimeState) {
  // hosts, resolv.conf and hostname are made afresh at every start: they belong to the
  // runtime state (a tmpfs on a standard host), not to the store on the disk, where every
  // file made and deleted per run costs ext4 an inode (and, without a journal, a discard).
  std::string id =
      trim(ok({"run", "-d", "--network", "none", "--hostname", "h1", "busybox", "sleep", "300"}));
  ASSERT_EQ(id.size(), 64u) << id;
  std::set<std::string> bundle;
  for (const auto& e : std::filesystem::directory_iterator(root() + "/containers/" + id))
    bundle.insert(e.path().filename());
  EXPECT_EQ(bundle, (std::set<std::string>{"config.json", "container.log"}));
  std::ifstream hosts(state() + "/monitor/" + id + "/hosts");
  std::string line;
  std::getline(hosts, line);
  EXPECT_NE(line.find("h1"), std::string::npos) << line;
  EXPECT_EQ(ok({"exec", id, "cat", "/etc/hostname"}), "h1\n");
  // After the state is gone (as after a reboot) a start makes them again.
  ok({"stop", "-t", "0", id});
  std::filesystem::remove_all(state() + "/monitor/" + id);
  ok({"start", id});
  EXPECT_NE(ok({"exec", id, "cat", "/etc/hosts"}).find("h1"), std::string::npos);
  ok({"rm", "-f", id});
}

TEST_F(EngineRun, ProcessFlags) {
  std::string envfile = root() + "/env.list";
  std::ofstream(envfile) << "# a comment\nFROM_FILE=yes\n\nSECOND=2\n";
  std::string out = ok(
      rm_none({"-e", "A=1", "--env", "B=two words", "--env-file", envfile, "-w", "/tmp", "-u",
               "1000:1000", "--hostname", "boxy", "busybox", "sh", "-c",
               "echo $A/$B/$FROM_FILE/$SECOND; pwd; id -u; id -g; hostname; cat /etc/hostname"}));
  EXPECT_EQ(out, "1/two words/yes/2\n/tmp\n1000\n1000\nboxy\nboxy\n");
  // --entrypoint replaces the image's; the rest are its arguments.
  EXPECT_EQ(ok(rm_none({"--entrypoint", "/bin/echo", "busybox", "from", "entrypoint"})),
            "from entrypoint\n");
  // -u by name resolves in the image's /etc/passwd.
  EXPECT_EQ(ok(rm_none({"-u", "user", "busybox", "sh", "-c", "id -un; echo $HOME"})),
            "user\n/home/user\n");
  // -i passes stdin; without it the container's stdin is empty.
  EXPECT_EQ(ok(rm_none({"-i", "busybox", "sh", "-c", "read l; echo got:$l"}), "line\n"),
            "got:line\n");
  EXPECT_EQ(ok(rm_none({"busybox", "sh", "-c", "cat; echo end"}), "ignored\n"), "end\n");
}

TEST_F(EngineRun, ReadOnlyTmpfsAndMounts) {
  CmdResult ro = berth(rm_none({"--read-only", "busybox", "sh", "-c", "touch /x"}));
  EXPECT_NE(ro.exit_code, 0);
  EXPECT_NE(ro.err.find("Read-only"), std::string::npos) << ro.err;
  std::string host = root() + "/bind";
  ASSERT_EQ(mkdir(host.c_str(), 0755), 0);
  std::ofstream(host + "/in") << "from host\n";
  std::string out = ok(rm_none(
      {"-v", host + ":/mnt/b", "--mount", "type=bind,source=" + host + ",target=/mnt/ro,readonly",
       "--mount", "type=tmpfs,target=/mnt/t,tmpfs-size=1m", "busybox", "sh", "-c",
       "cat /mnt/b/in; echo out > /mnt/b/out; touch /mnt/ro/x 2>/dev/null || echo ro-refused; "
       "grep ' /mnt/t ' /proc/mounts | cut -d' ' -f3"}));
  EXPECT_EQ(out, "from host\nro-refused\ntmpfs\n");
  EXPECT_EQ(read_file(host + "/out"), "out\n");
  // A missing host directory is created, as Docker does.
  ok(rm_none({"-v", root() + "/made-by-run:/x", "busybox", "true"}));
  EXPECT_TRUE(file_exists(root() + "/made-by-run"));
}

TEST_F(EngineRun, ResourceLimitsReadBackFromTheCgroup) {
  // cgroup v1 memory and pids (this host), v2 files otherwise: the container sees its own.
  std::string out = ok(rm_none(
      {"--memory", "64m", "--memory-swap", "128m", "--pids-limit", "33", "--cpus", "0.5",
       "--cpu-shares", "512", "--cpuset-cpus", "0", "busybox", "sh", "-c",
       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; "
       "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; "
       "cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
       "2>/dev/null | head -1; cat /sys/fs/cgroup/cpu,cpuacct/cpu.shares 2>/dev/null || "
       "cat /sys/fs/cgroup/cpu/cpu.shares; cat /sys/fs/cgroup/cpuset/cpuset.cpus"}));
  EXPECT_EQ(out, "67108864\n33\n50000\n512\n0\n");
  // --ulimit sets the limit; above the host's hard limit it is clamped with a warning.
  CmdResult ul = berth(rm_none({"--ulimit", "nofile=100:200", "--ulimit", "nproc=99999999999",
                                "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"}));
  EXPECT_EQ(ul.exit_code, 0) << ul.err;
  EXPECT_EQ(ul.out, "100\n200\n");
}

TEST_F(EngineRun, SecurityDefaultsAndOptions) {
  auto status_field = [&](const std::vector<std::string>& flags, const std::string& field) {
    std::vector<std::string> a = {"run", "--rm", "--network", "none"};
    a.insert(a.end(), flags.begin(), flags.end());
    a.insert(a.end(), {"busybox", "sh", "-c", "grep '^" + field + ":' /proc/self/status"});
    std::string out = ok(a);
    return out.substr(out.find(':') + 1, out.find('\n') - out.find(':') - 1);
  };
  // Docker's default capability set: 0x00000000a80425fb.
  EXPECT_EQ(status_field({}, "CapEff"), "\t00000000a80425fb");
  EXPECT_EQ(status_field({"--cap-drop", "ALL", "--cap-add", "NET_ADMIN"}, "CapEff"),
            "\t0000000000001000");
  EXPECT_EQ(status_field({"--cap-drop", "CHOWN"}, "CapEff"), "\t00000000a80425fa");
  EXPECT_EQ(status_field({}, "Seccomp"), "\t2");
  EXPECT_EQ(status_field({"--security-opt", "seccomp=unconfined"}, "Seccomp"), "\t0");
  EXPECT_EQ(status_field({}, "NoNewPrivs"), "\t0");
  EXPECT_EQ(status_field({"--security-opt", "no-new-privileges"}, "NoNewPrivs"), "\t1");
  EXPECT_EQ(status_field({"--privileged"}, "Seccomp"), "\t0");
  // The default profile denies what Docker's denies (unshare of a user namespace here).
  CmdResult denied =
      berth(rm_none({"busybox", "sh", "-c", "unshare -U true && echo allowed || echo denied"}));
  EXPECT_EQ(denied.out, "denied\n") << denied.err;
  // A custom profile from a file.
  std::string prof = root() + "/prof.json";
  std::ofstream(prof) << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir",)"
                      << R"("mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]})";
  CmdResult custom = berth(rm_none(
      {"--security-opt", "seccomp=" + prof, "busybox", "sh", "-c", "mkdir /tmp/d 2>&1 || true"}));
  EXPECT_NE(custom.out.find("Permission denied"), std::string::npos) << custom.out << custom.err;
  // Masked /proc paths, and --privileged unmasks them.
  EXPECT_EQ(ok(rm_none({"busybox", "sh", "-c", "wc -c < /proc/timer_list"})), "0\n");
  EXPECT_NE(ok(rm_none({"--privileged", "busybox", "sh", "-c", "wc -c < /proc/timer_list"})),
            "0\n");
  EXPECT_EQ(ok(rm_none({"--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c",
                        "echo x > /dev/mynull && ls -l /dev/mynull | cut -c1"})),
            "c\n");
}

TEST_F(EngineRun, InitReapsAndForwardsSignals) {
  std::string out = ok(rm_none(
      {"--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$"}));
  EXPECT_NE(out.find("init"), std::string::npos) << out;
  EXPECT_NE(out.substr(out.find('\n') + 1), "1\n") << "the program must not be pid 1";
  // A foreground run passes SIGTERM to the container; --init forwards it to the program.
  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = berth_cmdline() +
                      " run --rm --network none --init busybox sh -c "
                      "'trap \"echo got-term; exit 7\" TERM; echo ready; "
                      "while true; do sleep 0.1; done' > " +
                      root() + "/sig.out";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(99);
  }
  ASSERT_TRUE(eventually([&] { return read_file(root() + "/sig.out") == "ready\n"; }));
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_EQ(read_file(root() + "/sig.out"), "ready\ngot-term\n");
}

TEST_F(EngineRun, InteractiveTerminalThroughAPty) {
  // script(1) gives berth a terminal; -it relays it (raw mode, window size).
  CmdResult r =
      sh("printf 'hello\\n' | script -qec \"stty cols 111 rows 22 2>/dev/null; " + berth_cmdline() +
         " run -it --rm --network none busybox sh -c 'read x; echo got:\\$x; tty; stty "
         "size'\" /dev/null");
  EXPECT_NE(r.out.find("got:hello"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("22 111"), std::string::npos) << r.out;
}

TEST_F(EngineRun, ParallelRunsLeaveCorrectRecords) {
  const int n = 24;
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      std::string name = "par" + std::to_string(i);
      execl(BERTH_CLI_BIN, "berth", "--root", root().c_str(), "--state", state().c_str(), "run",
            "-d", "--network", "none", "--name", name.c_str(), "--label", "batch=1", "busybox",
            "sleep", "300", nullptr);
      _exit(99);
    }
    pids.push_back(p);
  }
  int failed = 0;
  for (pid_t p : pids) {
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
  }
  EXPECT_EQ(failed, 0);
  auto ps = nlohmann::json::parse(ok({"ps", "--filter", "label=batch=1", "--format", "json"}));
  ASSERT_EQ(ps.size(), static_cast<size_t>(n));
  std::set<std::string> names, ids;
  for (const auto& c : ps) {
    names.insert(c["Names"][0].get<std::string>());
    ids.insert(c["Id"].get<std::string>());
    EXPECT_EQ(c["State"], "running");
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(n));
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  // A name is unique: a second container of the same name is refused.
  CmdResult dup = berth({"run", "-d", "--network", "none", "--name", "par0", "busybox", "true"});
  EXPECT_EQ(dup.exit_code, 125);
  EXPECT_NE(dup.err.find("par0"), std::string::npos) << dup.err;
}

}  // namespace
}  // namespace berth::test
