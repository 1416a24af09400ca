// berth-runtime part 2: cgroup limits read back inside the container, seccomp, exec, the
// terminal, hooks, pause/resume, ps, update, and the process scheduling attributes.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/console.h"
#include "support/runtime_fixture.h"

namespace berth::test {
namespace {

using Part2 = RuntimeTest;

// A listening AF_UNIX socket in a temp dir (console socket, seccomp listener).
class Listener {
 public:
  Listener() : path_(dir_.path() + "/sock") {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path_.c_str());
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 4);
  }
  ~Listener() { close(fd_); }
  const std::string& path() const { return path_; }
  // Accepts one connection and receives the fd it sends (and its payload).
  int receive(std::string* payload = nullptr) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    char data[8192];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))]{};
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    ssize_t n = recvmsg(c, &msg, 0);
    close(c);
    if (n <= 0) return -1;
    if (payload) payload->assign(data, static_cast<size_t>(n));
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    if (!cm) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
  }

 private:
  TempDir dir_;
  std::string path_;
  int fd_;
};

TEST_F(Part2, CgroupLimitsAreReadBackInsideTheContainer) {
  Bundle b;
  b.config()["linux"]["resources"] = {
      {"memory", {{"limit", 67108864}, {"reservation", 33554432}}},
      {"pids", {{"limit", 42}}},
      {"cpu", {{"shares", 512}, {"quota", 20000}, {"period", 100000}, {"cpus", "0"}}}};
  b.set_args(
      {"sh", "-c",
       "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes "
       "pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpuset/cpuset.cpus"});
  EXPECT_EQ(run_ok(b), "67108864\n33554432\n42\n512\n20000\n0\n");
}

TEST_F(Part2, HugepageLimitOnTheCgroup2SideOfAHybridHost) {
  // This host's hugetlb controller lives on the cgroup2 mount (hybrid layout).
  if (read_file("/sys/fs/cgroup/unified/cgroup.controllers").find("hugetlb") == std::string::npos)
    GTEST_SKIP() << "hugetlb is not on this host's cgroup2 mount";
  Bundle b;
  b.config()["linux"]["resources"] = {
      {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4194304}}}}};
  b.set_args({"cat", "/sys/fs/cgroup/unified/hugetlb.2MB.max"});
  EXPECT_EQ(run_ok(b), "4194304\n");
}

TEST_F(Part2, PidsLimitStopsForks) {
  Bundle b;
  b.config()["linux"]["resources"] = {{"pids", {{"limit", 3}}}};
  b.set_args({"sh", "-c", "for i in 1 2 3 4 5; do sleep 5 & done; echo forks-done"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_EQ(r.out.find("forks-done"), std::string::npos);
  EXPECT_NE(r.err.find("can't fork"), std::string::npos) << r.err;
}

TEST_F(Part2, DeviceRulesDenyWhatIsNotAllowed) {
  Bundle b;
  b.private_rootfs();
  b.config()["linux"]["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  for (auto set : {"bounding", "effective", "permitted"})
    b.config()["process"]["capabilities"][set].push_back("CAP_MKNOD");
  // The default rules allow mknod of any node and the standard devices; reading a block
  // device nobody allowed is refused by the cgroup.
  b.set_args(
      {"sh", "-c", "head -c 1 /dev/zero | wc -c; mknod /tmp/blk b 7 0 && head -c1 /tmp/blk 2>&1"});
  CmdResult r = rt.run_bundle(b);
  std::string out = r.out + r.err;
  EXPECT_NE(out.find("1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
}

TEST_F(Part2, UnsupportedResourceIsAClearErrorAndLeavesNothing) {
  Bundle b;
  b.config()["linux"]["resources"] = {{"network", {{"classID", 1048577}}}};
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.resources.network"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Part2, SeccompErrnoArgumentsAndBothLoadPaths) {
  for (bool nnp : {true, false}) {
    Bundle b;
    b.config()["process"]["noNewPrivileges"] = nnp;
    b.config()["linux"]["seccomp"] = nlohmann::json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["uname"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 1, "value": 493, "op": "SCMP_CMP_EQ"}]},
        {"names": ["a_syscall_from_the_future"], "action": "SCMP_ACT_ERRNO"}]})");
    b.set_args({"sh", "-c",
                "/probe syscall mkdir; /probe syscall uname; /probe syscall chmod; /probe syscall "
                "getcwd; grep ^Seccomp: /proc/self/status"});
    EXPECT_EQ(run_ok(b), "errno ENOSYS\nerrno EPERM\nerrno EACCES\nok 0\nSeccomp:\t2\n")
        << "noNewPrivileges=" << nnp;
  }
}

// exec's helper holds the sync socket past its own exec only when it can still mark it
// close-on-exec: a profile that forbids fcntl must neither break exec nor leak that socket
// into the program, whichever side loads the filter.
TEST_F(Part2, ExecUnderAProfileWithoutFcntl) {
  for (bool nnp : {true, false}) {
    Bundle b;
    b.config()["process"]["noNewPrivileges"] = nnp;
    b.config()["linux"]["seccomp"] = nlohmann::json::parse(R"({
      "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_ERRNO"}]})");
    b.set_args({"sleep", "30"});
    std::string id = rt.new_id();
    ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
    ASSERT_EQ(rt({"start", id}).exit_code, 0);
    CmdResult r = rt({"exec", id, "ls", "/proc/self/fd"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "0\n1\n2\n3\n") << "noNewPrivileges=" << nnp;
    TempDir d;
    ASSERT_EQ(
        sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " exec --detach --pid-file " +
           d.path() + "/pid " + id + " sleep 1 >/dev/null 2>&1")
            .exit_code,
        0);
    EXPECT_FALSE(read_file(d.path() + "/pid").empty());
    EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  }
}

TEST_F(Part2, SeccompDefaultErrnoRetAndBadProfiles) {
  Bundle b;
  b.config()["linux"]["seccomp"] = nlohmann::json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95,
    "syscalls": [{"names": ["read","write","openat","open","close","fstat","newfstatat","stat",
      "mmap","mprotect","munmap","brk","rt_sigaction","rt_sigprocmask","execve","exit_group",
      "arch_prctl","set_tid_address","getpid","getuid","geteuid","getgid","getegid","getppid",
      "prctl","capset","capget","setresuid","setresgid","setgroups","chdir","getcwd","lseek",
      "fcntl","close_range","execveat","memfd_create","sendmsg","access","faccessat",
      "faccessat2","readlink","ioctl","getdents64","exit","uname","statx","futex",
      "set_robust_list","rseq","prlimit64","getrandom","sched_getaffinity","poll","dup2",
      "readlinkat","sysinfo","gettid","tgkill","wait4","clone","vfork","kill","pipe2","dup3"],
      "action": "SCMP_ACT_ALLOW"}]})");
  b.set_args({"/probe", "syscall", "mkdir"});
  EXPECT_EQ(run_ok(b), "errno EOPNOTSUPP\n");
  Bundle bad;
  bad.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_EXPLODE"}};
  CmdResult r = rt.run_bundle(bad);
  EXPECT_NE(r.err.find("linux.seccomp.defaultAction"), std::string::npos) << r.err;
  bad.config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                      {"architectures", {"SCMP_ARCH_VAX"}}};
  r = rt.run_bundle(bad);
  EXPECT_NE(r.err.find("SCMP_ARCH_VAX"), std::string::npos) << r.err;
}

TEST_F(Part2, SeccompNotifySendsTheFdToTheListener) {
  Listener l;
  Bundle b;
  b.config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", l.path()},
      {"listenerMetadata", "meta-1"},
      {"syscalls", {{{"names", {"getpgid"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  std::string payload;
  int fd = l.receive(&payload);
  ASSERT_GE(fd, 0);
  char target[256];
  ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target);
  close(fd);
  EXPECT_NE(std::string(target, n > 0 ? n : 0).find("seccomp"), std::string::npos);
  nlohmann::json msg = nlohmann::json::parse(payload);
  EXPECT_EQ(msg["metadata"], "meta-1");
  EXPECT_EQ(msg["fds"][0], "seccompFd");
  EXPECT_EQ(msg["state"]["id"], id);
}

TEST_F(Part2, ExecJoinsTheContainer) {
  Bundle b;
  b.set_args({"sleep", "30"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  CmdResult r = rt({"exec", "--env", "X=y", "--cwd", "/tmp", "--user", "1000:1000", id, "sh", "-c",
                    "echo $$ $X $(pwd) $(id -u); cat /proc/1/cmdline; echo; hostname; "
                    "grep -c :memory:/$ /proc/self/cgroup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("2 y /tmp 1000\nsleep\0"
                               "30\0\nberth-test\n1\n",
                               37));
  EXPECT_EQ(rt({"exec", id, "sh", "-c", "exit 9"}).exit_code, 9);
  // --process FILE, --detach and --pid-file.
  TempDir d;
  std::ofstream(d.path() + "/p.json")
      << R"({"args":["sleep","20"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}})";
  // Detached: its stdio must not be the harness's pipes, or run() would wait for it.
  r = sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " exec --process " + d.path() +
         "/p.json --detach --pid-file " + d.path() + "/pid " + id + " >/dev/null 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string pid = read_file(d.path() + "/pid");
  EXPECT_NE(read_file("/proc/" + pid + "/cmdline").find("sleep"), std::string::npos);
  // --detach returns once the user's program runs, not merely berth's exec helper before it.
  for (int i = 0; i < 10; ++i) {
    std::string pf = d.path() + "/pid" + std::to_string(i);
    ASSERT_EQ(sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() +
                 " exec --detach --pid-file " + pf + " " + id + " sleep 1 >/dev/null 2>&1")
                  .exit_code,
              0);
    std::string p = read_file(pf);
    EXPECT_EQ(read_file("/proc/" + p + "/cmdline"), std::string("sleep\0"
                                                                "1\0",
                                                                8))
        << i;
  }
  nlohmann::json pids = nlohmann::json::parse(rt({"ps", "--format", "json", id}).out);
  EXPECT_GE(pids.size(), 2u);
  EXPECT_NE(rt({"ps", id}).out.find("sleep 20"), std::string::npos);
  CmdResult missing = rt({"exec", id, "no-such-binary"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no-such-binary"), std::string::npos);
}

TEST_F(Part2, TerminalOverTheConsoleSocket) {
  Listener l;
  Bundle b;
  b.config()["process"]["terminal"] = true;
  b.config()["process"]["consoleSize"] = {{"height", 33}, {"width", 101}};
  b.set_args({"sh", "-c", "tty; stty size; readlink /proc/self/fd/0; echo done"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id, {"--console-socket", l.path()}).exit_code, 0)
      << read_file(b.dir() + "/err");
  int master = l.receive();
  ASSERT_GE(master, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(master);
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("33 101"), std::string::npos) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  CmdResult noSock = create_detached(b, rt.new_id());
  EXPECT_NE(noSock.exit_code, 0);
  EXPECT_NE(noSock.err.find("console-socket"), std::string::npos) << noSock.err;
}

TEST_F(Part2, RunRelaysATerminalInTheForeground) {
  Bundle b;
  b.config()["process"]["terminal"] = true;
  b.set_args({"sh", "-c", "read line; echo got:$line; tty"});
  b.write();
  std::string id = rt.new_id();
  // script(1) gives berth-runtime a terminal; the container's pty is relayed through it.
  CmdResult r = sh("printf 'hello\\n' | script -qec '" + std::string(BERTH_RUNTIME_BIN) +
                   " --root " + rt.root() + " run --bundle " + b.dir() + " " + id + "' /dev/null");
  EXPECT_NE(r.out.find("got:hello"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
}

TEST_F(Part2, HooksRunInOrderWithTheState) {
  TempDir log;
  Bundle b;
  auto hook = [&](const std::string& name) {
    return nlohmann::json{
        {"path", "/bin/sh"},
        {"args", {"sh", "-c", "echo " + name + " $(cat) >> " + log.path() + "/log"}}};
  };
  b.config()["hooks"] = {
      {"prestart", {hook("prestart")}},
      {"createRuntime", {hook("createRuntime")}},
      {"createContainer", {hook("createContainer")}},
      {"poststart",
       {{{"path", "/bin/sh"},
         {"args",
          {"sh", "-c",
           "s=$(cat); pid=$(echo \"$s\" | grep -o '\"pid\":[0-9]*' | cut -d: -f2); "
           "echo poststart $(readlink /proc/$pid/exe) $s >> " +
               log.path() + "/log"}}}}},
      {"poststop", {hook("poststop")}}};
  // startContainer runs in the container: its path and log are the container's.
  b.config()["mounts"].push_back({{"destination", "/hooklog"},
                                  {"type", "bind"},
                                  {"source", log.path()},
                                  {"options", {"rbind"}}});
  b.config()["hooks"]["startContainer"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo startContainer $(cat) >> /hooklog/log"}}}};
  b.set_args({"sh", "-c", "echo program >> /hooklog/log; exec sleep 1"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  CmdResult started = rt({"start", id});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  for (int i = 0; i < 200 && state_status(id) != "stopped"; ++i) usleep(10000);
  ASSERT_EQ(rt({"delete", id}).exit_code, 0);
  std::istringstream in(read_file(log.path() + "/log"));
  std::vector<std::string> names;
  std::map<std::string, nlohmann::json> states;
  std::string line;
  while (std::getline(in, line)) {
    std::string name = line.substr(0, line.find(' '));
    names.push_back(name);
    if (line.find('{') != std::string::npos)
      states[name] = nlohmann::json::parse(line.substr(line.find('{')));
  }
  // The program's own line may land before or after poststart's (they run concurrently);
  // poststart must see the program already executed.
  std::erase(names, "program");
  EXPECT_EQ(names, (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"}));
  EXPECT_NE(read_file(log.path() + "/log").find("poststart /"), std::string::npos)
      << read_file(log.path() + "/log");
  EXPECT_NE(read_file(log.path() + "/log").find("program"), std::string::npos);
  EXPECT_EQ(read_file(log.path() + "/log").find("memfd"), std::string::npos);
  EXPECT_EQ(states["createRuntime"]["id"], id);
  EXPECT_EQ(states["createRuntime"]["status"], "creating");
  EXPECT_GT(states["createRuntime"]["pid"].get<int>(), 1);
  EXPECT_EQ(states["createContainer"]["pid"], 1) << "the container's own view";
  EXPECT_EQ(states["poststart"]["status"], "running");
  EXPECT_EQ(states["poststop"]["status"], "stopped");
  EXPECT_EQ(states["prestart"]["bundle"], b.dir());
}

TEST_F(Part2, FailingAndSlowHooksAreErrorsAndUndoCreate) {
  Bundle b;
  b.config()["hooks"] = {
      {"createRuntime",
       {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo broken >&2; exit 3"}}}}}};
  b.set_args({"true"});
  std::string id = rt.new_id();
  CmdResult r = create_detached(b, id);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("hooks.createRuntime[0]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("status 3: broken"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
  b.config()["hooks"] = {
      {"prestart", {{{"path", "/bin/sleep"}, {"args", {"sleep", "10"}}, {"timeout", 1}}}}};
  r = create_detached(b, rt.new_id());
  EXPECT_NE(r.err.find("timed out after 1 s"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Part2, PauseResumeAndUpdate) {
  TempDir d;
  Bundle b;
  b.config()["mounts"].push_back(
      {{"destination", "/out"}, {"type", "bind"}, {"source", d.path()}, {"options", {"rbind"}}});
  b.config()["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}};
  b.set_args({"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  usleep(200 * 1000);
  ASSERT_EQ(rt({"pause", id}).exit_code, 0);
  EXPECT_EQ(state_status(id), "paused");
  std::string a = read_file(d.path() + "/n");
  usleep(200 * 1000);
  EXPECT_EQ(read_file(d.path() + "/n"), a) << "a paused container must not run";
  EXPECT_NE(rt({"pause", id}).exit_code, 0);
  ASSERT_EQ(rt({"resume", id}).exit_code, 0);
  EXPECT_EQ(state_status(id), "running");
  usleep(200 * 1000);
  EXPECT_NE(read_file(d.path() + "/n"), a);
  ASSERT_EQ(rt({"update", "--memory", "96m", "--pids-limit", "50", id}).exit_code, 0);
  CmdResult r = rt({"exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                    "/sys/fs/cgroup/pids/pids.max"});
  EXPECT_EQ(r.out, "100663296\n50\n");
  TempDir j;
  std::ofstream(j.path() + "/r.json") << R"({"cpu":{"shares":256}})";
  ASSERT_EQ(rt({"update", "--resources", j.path() + "/r.json", id}).exit_code, 0);
  EXPECT_EQ(rt({"exec", id, "cat", "/sys/fs/cgroup/cpu/cpu.shares"}).out, "256\n");
  CmdResult bad = rt({"update", "--memory", "lots", id});
  EXPECT_NE(bad.err.find("--memory"), std::string::npos) << bad.err;
  // Stop the writer before d goes: a write between d's unlink and rmdir would keep it.
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
}

TEST_F(Part2, PersonalityIoPrioritySchedulerAndAffinity) {
  Bundle b;
  b.config()["linux"]["personality"] = {{"domain", "LINUX32"}};
  b.config()["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
  b.config()["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}};
  b.config()["process"]["execCPUAffinity"] = {{"final", "0"}};
  b.set_args({"sh", "-c",
              "uname -m; ionice -p $$; grep -E '^policy' /proc/self/sched | tr -s ' '; "
              "grep Cpus_allowed_list /proc/self/status; cut -d' ' -f19 /proc/self/stat"});
  std::string out = run_ok(b);
  EXPECT_NE(out.find("i686"), std::string::npos) << out;
  EXPECT_NE(out.find("idle"), std::string::npos) << out;
  EXPECT_NE(out.find("policy : 3"), std::string::npos) << out;
  EXPECT_NE(out.find("Cpus_allowed_list:\t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n5\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace berth::test
