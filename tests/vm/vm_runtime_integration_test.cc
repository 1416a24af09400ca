// VM isolation through the real berth-runtime: each test boots a real VM (TCG here).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vm/vm_fixture.h"
#include "vm/vm_handler.h"

namespace berth::test {
namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

TEST_F(VmTest, EchoStdoutStderrAndExitCode) {
  Bundle b;
  make_vm(b, {"sh", "-c", "echo hello from the guest; echo oops >&2; exit 7"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.out, "hello from the guest\n");
  EXPECT_EQ(r.err, "oops\n");
}

// A small root comes in the initramfs (no virtio-blk); the ext4 image when asked for (as for
// a large tree, or one with file capabilities), with the image's files either way.
TEST_F(VmTest, RootInTheInitramfsOrAnExt4Image) {
  for (std::string mode : {"auto", "image"}) {
    Bundle b;
    make_vm(b, {"sh", "-c", "grep ' / ' /proc/mounts; cat /etc/berth-test.txt"});
    b.private_rootfs();
    std::ofstream(b.dir() + "/rootfs/etc/berth-test.txt") << "from the image\n";
    b.config()["annotations"]["run.oci.berth.vm.rootfs"] = mode;
    CmdResult r = rt.run_bundle(b);
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    EXPECT_NE(r.out.find("from the image\n"), std::string::npos) << mode << ": " << r.out;
    if (mode == "image") {
      EXPECT_NE(r.out.find("/dev/vda / ext4"), std::string::npos) << r.out;
    } else {
      EXPECT_EQ(r.out.find("/dev/vda"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("rootfs / rootfs"), std::string::npos) << r.out;
    }
  }
}

// Args, env, cwd, user, groups, hostname, rlimits, a file of the image, a read-only root,
// memory and CPU limits as the VM's size, and the guest's own kernel.
TEST_F(VmTest, ProcessSeesItsSpecInsideItsOwnKernel) {
  Bundle b;
  make_vm(b, {"sh", "-c",
              "echo \"$0 $1\"; echo \"FOO=$FOO\"; pwd; id -u; id -g; id -G; hostname; "
              "cat /etc/berth-test.txt; ulimit -n; nproc; "
              "grep MemTotal /proc/meminfo; uname -r; "
              "touch /newfile 2>/dev/null && echo rw || echo ro; "
              "grep -E '^Sig(Ign|Blk)' /proc/self/status",
              "first", "second"});
  b.private_rootfs();
  std::ofstream(b.dir() + "/rootfs/etc/berth-test.txt") << "a file from the image\n";
  auto& c = b.config();
  c["root"]["readonly"] = true;
  c["process"]["env"].push_back("FOO=bar baz");
  c["process"]["cwd"] = "/home/user";
  c["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {5}}};
  c["hostname"] = "vmhost";
  c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 321}, {"soft", 321}}};
  c["linux"]["resources"]["memory"]["limit"] = 300ll << 20;
  c["linux"]["resources"]["cpu"] = {{"quota", 200000}, {"period", 100000}};
  CmdResult r = rt.run_bundle(b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 15u) << r.out;
  EXPECT_EQ(l[0], "first second");
  EXPECT_EQ(l[1], "FOO=bar baz");
  EXPECT_EQ(l[2], "/home/user");
  EXPECT_EQ(l[3], "1000");
  EXPECT_EQ(l[4], "1000");
  EXPECT_EQ(l[5], "1000 5");
  EXPECT_EQ(l[6], "vmhost");
  EXPECT_EQ(l[7], "a file from the image");
  EXPECT_EQ(l[8], "321");
  EXPECT_EQ(l[9], "2");  // quota 200000/100000
  long mem_kb = 0;
  sscanf(l[10].c_str(), "MemTotal: %ld kB", &mem_kb);
  EXPECT_GT(mem_kb, 200 * 1024) << l[10];  // 300 MiB of guest RAM, less the kernel's
  EXPECT_LE(mem_kb, 300 * 1024) << l[10];
  EXPECT_NE(l[11], read_file("/proc/sys/kernel/osrelease").substr(0, l[11].size()))
      << "the guest runs the host's kernel?";
  EXPECT_NE(l[11].find("cloud"), std::string::npos) << l[11];
  EXPECT_EQ(l[12], "ro");
  // No signal the agent blocks or ignores leaks into the process (busybox sh itself ignores
  // SIGQUIT, so only SIGPIPE, which the agent ignores, is looked at).
  EXPECT_EQ(l[13], "SigBlk:\t0000000000000000");
  unsigned long long ign = 0;
  ASSERT_EQ(sscanf(l[14].c_str(), "SigIgn: %llx", &ign), 1) << l[14];
  EXPECT_EQ(ign & (1ull << (SIGPIPE - 1)), 0u) << l[14];
}

// A host directory (virtiofs) written in the guest and read on the host; a host file
// (copied in) bound read-only.
TEST_F(VmTest, VolumeWrittenInGuestIsReadOnHost) {
  TempDir vol("berth-test-vol");
  TempDir files("berth-test-files");
  std::ofstream(vol.path() + "/in.txt") << "from the host\n";
  std::ofstream(files.path() + "/conf.txt") << "a host file\n";
  Bundle b;
  make_vm(b, {"sh", "-c",
              "cat /data/in.txt; echo written in the guest > /data/out.txt; "
              "mkdir /data/sub && echo deep > /data/sub/f; cat /etc/conf.txt; "
              "(echo x > /etc/conf.txt) 2>/dev/null && echo writable || echo ro; "
              "echo scratch > /scratch-file && cat /scratch-file"});
  // A writable root: the guest writes to its snapshot, never to the image or the host tree.
  b.config()["root"]["readonly"] = false;
  b.config()["mounts"].push_back({{"destination", "/data"},
                                  {"type", "bind"},
                                  {"source", vol.path()},
                                  {"options", {"rbind", "rw"}}});
  b.config()["mounts"].push_back({{"destination", "/etc/conf.txt"},
                                  {"type", "bind"},
                                  {"source", files.path() + "/conf.txt"},
                                  {"options", {"bind", "ro"}}});
  CmdResult r = rt.run_bundle(b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "from the host\na host file\nro\nscratch\n");
  EXPECT_FALSE(file_exists(shared_rootfs() + "/scratch-file"));
  EXPECT_EQ(read_file(vol.path() + "/out.txt"), "written in the guest\n");
  EXPECT_EQ(read_file(vol.path() + "/sub/f"), "deep\n");
}

// stdin is relayed to the guest, and a few MB of output arrive whole and in order (the exit
// record is acknowledged before the guest powers off).
TEST_F(VmTest, StdinPipedAndLargeOutputComplete) {
  std::string input;
  for (int i = 0; input.size() < (1 << 20); ++i) input += "line " + std::to_string(i) + "\n";
  Bundle b;
  make_vm(b, {"sh", "-c", "cat; seq 1 300000"});
  CmdResult r = run_with_input(b, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string want = input;
  for (int i = 1; i <= 300000; ++i) want += std::to_string(i) + "\n";
  ASSERT_EQ(r.out.size(), want.size());
  EXPECT_TRUE(r.out == want);
}

// create, start, state, a signal that reaches the process, delete: as with containers.
TEST_F(VmTest, CreateStartStateKillDelete) {
  Bundle b;
  make_vm(b, {"sh", "-c",
              "trap 'echo got TERM; exit 5' TERM; echo started; "
              "while true; do sleep 0.1; done"});
  std::string id = rt.new_id();
  CmdResult c = create_detached(b, id);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(state_status(id), "created");
  auto st = nlohmann::json::parse(rt({"state", id}).out);
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_EQ(rt({"list", "-q"}).out, id + "\n");

  CmdResult s = rt({"start", id});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(state_status(id), "running");
  EXPECT_NE(wait_for_output(b.dir() + "/out", "started", 60000).find("started"), std::string::npos);
  // A running VM is not deleted without --force.
  EXPECT_NE(rt({"delete", id}).exit_code, 0);

  CmdResult k = rt({"kill", id, "TERM"});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(wait_status(id, "stopped", 60000), "stopped");
  EXPECT_EQ(read_file(b.dir() + "/out"), "started\ngot TERM\n");
  // The VM went away on its own; its record stays until delete.
  EXPECT_TRUE(vm_processes(rt.root()).empty());
  EXPECT_NE(rt({"kill", id, "TERM"}).exit_code, 0);
  CmdResult d = rt({"delete", id});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(rt({"state", id}).exit_code, 0);
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
}

// pause freezes the whole VM, resume thaws it; ps lists the VM's host processes; kill --all
// reaches every guest process.
TEST_F(VmTest, PauseResumePsAndKillAll) {
  Bundle b;
  make_vm(b, {"sh", "-c", "while true; do echo tick; sleep 0.05; done"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  std::string out = b.dir() + "/out";
  ASSERT_NE(wait_for_output(out, "tick\ntick\ntick\n", 60000).find("tick\ntick\ntick"),
            std::string::npos);

  CmdResult ps = rt({"ps", "--format", "json", id});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  auto pids = nlohmann::json::parse(ps.out);
  EXPECT_EQ(pids.size(), 2u) << ps.out;  // the monitor and QEMU
  int monitor = nlohmann::json::parse(rt({"state", id}).out)["pid"].get<int>();
  EXPECT_EQ(pids[0].get<int>(), monitor);
  EXPECT_NE(read_file("/proc/" + std::to_string(pids[1].get<int>()) + "/cmdline").find("qemu"),
            std::string::npos);

  CmdResult p = rt({"pause", id});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(state_status(id), "paused");
  usleep(300 * 1000);  // output already in flight lands
  size_t frozen = read_file(out).size();
  usleep(1000 * 1000);
  EXPECT_EQ(read_file(out).size(), frozen) << "the guest ran while paused";
  EXPECT_NE(rt({"pause", id}).exit_code, 0);  // not running

  CmdResult r = rt({"resume", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state_status(id), "running");
  for (int i = 0; i < 200 && read_file(out).size() <= frozen; ++i) usleep(50 * 1000);
  EXPECT_GT(read_file(out).size(), frozen) << "the guest did not go on after resume";

  ASSERT_EQ(rt({"kill", "--all", id, "KILL"}).exit_code, 0);
  EXPECT_EQ(wait_status(id, "stopped", 60000), "stopped");
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
}

// A terminal without a console socket: `run` relays it itself.
TEST_F(VmTest, RunRelaysTerminal) {
  Bundle b;
  make_vm(b, {"sh", "-c", "tty; echo relayed; exit 4"});
  b.config()["process"]["terminal"] = true;
  CmdResult r = rt.run_bundle(b);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("relayed"), std::string::npos) << r.out;
}

// SIGKILL of `berth-runtime run`: the VM does not outlive its attached client.
TEST_F(VmTest, SigkillOfRunStopsTheVm) {
  Bundle b;
  make_vm(b, {"sh", "-c", "echo up; sleep 1000"});
  TempDir vol("berth-test-vol");  // a virtiofsd too
  b.config()["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", vol.path()}, {"options", {"bind"}}});
  b.write();
  std::string id = rt.new_id();
  CmdResult bg =
      sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " run --bundle " + b.dir() +
         " " + id + " >" + b.dir() + "/out 2>" + b.dir() + "/err </dev/null & echo $!");
  pid_t pid = std::stoi(bg.out);
  ASSERT_NE(wait_for_output(b.dir() + "/out", "up", 60000).find("up"), std::string::npos)
      << read_file(b.dir() + "/err");
  ASSERT_FALSE(vm_processes("berth-" + id, 0).empty()) << "no QEMU for the VM?";
  EXPECT_EQ(state_status(id), "running");
  // run attaches as the waiter right after start (a few ms; generous under load).
  usleep(1500 * 1000);
  ASSERT_FALSE(vm_processes(vol.path(), 0).empty()) << "no virtiofsd for the volume?";
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(vm_processes("berth-" + id, 20000).empty()) << "QEMU outlived berth-runtime run";
  EXPECT_TRUE(vm_processes(vol.path(), 5000).empty()) << "virtiofsd outlived berth-runtime run";
  EXPECT_EQ(wait_status(id, "stopped", 10000), "stopped");  // the monitor exits last
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
}

// A waiter that did not create the VM (another client) may go away: the VM goes on.
TEST_F(VmTest, OtherWaiterGoingAwayLeavesTheVm) {
  Bundle b;
  make_vm(b, {"sh", "-c", "echo up; sleep 1000"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  ASSERT_NE(wait_for_output(b.dir() + "/out", "up", 60000).find("up"), std::string::npos);
  // The state verbs have no wait; a VmHandler in this process waits as an engine would.
  pid_t waiter = fork();
  if (waiter == 0) {
    vm::VmHandler h{runtime::Store(rt.root())};
    (void)h.wait(id);
    _exit(0);
  }
  usleep(500 * 1000);
  ::kill(waiter, SIGKILL);
  waitpid(waiter, nullptr, 0);
  usleep(500 * 1000);
  EXPECT_EQ(state_status(id), "running");
  EXPECT_FALSE(vm_processes("berth-" + id, 0).empty());
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
}

// SIGKILL of `berth-runtime create` while the VM boots: the VM goes, delete cleans up.
TEST_F(VmTest, SigkillOfCreateDuringBoot) {
  Bundle b;
  make_vm(b, {"true"});
  b.write();
  std::string id = rt.new_id();
  CmdResult bg = sh(std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " create --bundle " +
                    b.dir() + " " + id + " >/dev/null 2>&1 </dev/null & echo $!");
  pid_t pid = std::stoi(bg.out);
  // QEMU starts a few ms into create; the guest needs seconds to boot.
  std::vector<std::string> q;
  for (int i = 0; i < 400 && (q = vm_processes("berth-" + id, 0)).empty(); ++i) usleep(10 * 1000);
  ASSERT_FALSE(q.empty()) << "QEMU never started";
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(vm_processes("berth-" + id, 20000).empty()) << "QEMU outlived berth-runtime create";
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
}

// SIGKILL of the monitor (the process that owns the VM): QEMU dies with it, and delete
// --force cleans up after it.
TEST_F(VmTest, KilledMonitorTakesQemuWithIt) {
  Bundle b;
  make_vm(b, {"sleep", "1000"});
  TempDir vol("berth-test-vol");  // a virtiofsd too
  b.config()["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", vol.path()}, {"options", {"bind"}}});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  auto st = nlohmann::json::parse(rt({"state", id}).out);
  pid_t monitor = st["pid"].get<int>();
  ASSERT_FALSE(vm_processes("berth-" + id, 0).empty());
  ASSERT_FALSE(vm_processes(vol.path(), 0).empty()) << "no virtiofsd for the volume?";
  ::kill(monitor, SIGKILL);
  EXPECT_TRUE(vm_processes("berth-" + id, 10000).empty()) << "QEMU outlived its monitor";
  EXPECT_TRUE(vm_processes(vol.path(), 5000).empty()) << "virtiofsd outlived its monitor";
  EXPECT_EQ(wait_status(id, "stopped", 10000), "stopped");
  CmdResult d = rt({"delete", "--force", id});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
}

// delete --force of a running VM stops it and removes everything.
TEST_F(VmTest, ForceDeleteOfRunningVm) {
  Bundle b;
  make_vm(b, {"sleep", "1000"});
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  CmdResult d = rt({"delete", "--force", id});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(vm_processes("berth-" + id, 0).empty());
  EXPECT_FALSE(file_exists(rt.root() + "/" + id));
}

// A terminal: the pty master goes to --console-socket; the guest process has a tty of the
// requested size.
TEST_F(VmTest, TerminalThroughConsoleSocket) {
  TempDir sockdir("berth-test-console");
  std::string path = sockdir.path() + "/console.sock";
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(listen(l, 1), 0);

  Bundle b;
  make_vm(b, {"sh", "-c", "tty; stty size; echo tty-ok; sleep 1"});
  b.config()["process"]["terminal"] = true;
  b.config()["process"]["consoleSize"] = {{"height", 30}, {"width", 100}};
  std::string id = rt.new_id();
  // create blocks until the guest is ready: receive the master meanwhile.
  pid_t receiver = fork();
  if (receiver == 0) {
    int c = accept(l, nullptr, nullptr);
    char data[8];
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    if (recvmsg(c, &msg, 0) <= 0) _exit(2);
    int master;
    memcpy(&master, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof master);
    std::string got;
    char buf[256];
    ssize_t n;
    while ((n = read(master, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    std::ofstream(sockdir.path() + "/got") << got;
    _exit(0);
  }
  close(l);
  CmdResult c = create_detached(b, id, {"--console-socket", path});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  int status = 0;
  waitpid(receiver, &status, 0);
  std::string got = read_file(sockdir.path() + "/got");
  EXPECT_NE(got.find("/dev/pts/0"), std::string::npos) << got;
  EXPECT_NE(got.find("30 100"), std::string::npos) << got;
  EXPECT_NE(got.find("tty-ok\r\n"), std::string::npos) << got;
  EXPECT_EQ(wait_status(id, "stopped", 30000), "stopped");
}

// The guest on a tap device in a network namespace the test made (a test host of its own):
// a server in the guest answers the host side of the tap.
TEST_F(VmTest, GuestReachableOverTap) {
  std::string ns = "bt-vmnet-" + std::to_string(getpid());
  ASSERT_EQ(sh("ip netns add " + ns).exit_code, 0);
  struct NsGone {
    std::string ns;
    ~NsGone() { sh("ip netns del " + ns); }
  } gone{ns};
  std::string in = "ip -n " + ns + " ";
  ASSERT_EQ(
      sh(in + "tuntap add dev bttap0 mode tap && " + in + "addr add 10.203.0.1/24 dev bttap0 && " +
         in + "link set bttap0 up && " + in + "link set lo up")
          .exit_code,
      0);
  Bundle b;
  make_vm(b, {"sh", "-c",
              "echo hello from the vm > /www/index.html; ip addr show eth0 | grep -q "
              "10.203.0.2/24 && echo ready; exec httpd -f -p 8080 -h /www"});
  auto& c = b.config();
  c["mounts"].push_back({{"destination", "/www"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  for (auto& n : c["linux"]["namespaces"])
    if (n["type"] == "network") n["path"] = "/var/run/netns/" + ns;
  c["annotations"]["run.oci.berth.vm.tap"] = "bttap0";
  c["annotations"]["run.oci.berth.vm.address"] = "10.203.0.2/24";
  c["annotations"]["run.oci.berth.vm.gateway"] = "10.203.0.1";
  std::string id = rt.new_id();
  ASSERT_EQ(create_detached(b, id).exit_code, 0) << read_file(b.dir() + "/err");
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  ASSERT_NE(wait_for_output(b.dir() + "/out", "ready", 60000).find("ready"), std::string::npos)
      << read_file(b.dir() + "/out") << read_file(b.dir() + "/err");
  CmdResult got;
  for (int i = 0; i < 30; ++i) {
    got = sh("ip netns exec " + ns +
                 " timeout 10 bash -c 'exec 3<>/dev/tcp/10.203.0.2/8080 && "
                 "printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 && cat <&3'",
             20);
    if (got.exit_code == 0) break;
    usleep(500 * 1000);
  }
  EXPECT_NE(got.out.find("200 OK"), std::string::npos) << got.out << got.err;
  EXPECT_NE(got.out.find("\r\n\r\nhello from the vm\n"), std::string::npos) << got.out;
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  // The tap is the test's: still there, and QEMU no longer holds it.
  EXPECT_EQ(sh(in + "link show bttap0").exit_code, 0);
}

// A clear one-line error when QEMU or the kernel is missing, and nothing left behind.
TEST_F(VmTest, ClearErrorsWhenQemuOrKernelMissing) {
  Bundle b;
  make_vm(b, {"true"});
  std::string saved = getenv("BERTH_VM_KERNEL");
  setenv("BERTH_VM_KERNEL", "/nonexistent/kernel", 1);
  CmdResult r = rt.run_bundle(b);
  setenv("BERTH_VM_KERNEL", saved.c_str(), 1);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("vm-kernel.sh"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;

  setenv("BERTH_QEMU", "/nonexistent/qemu-system-x86_64", 1);
  r = rt.run_bundle(b);
  unsetenv("BERTH_QEMU");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("qemu-system-x86_64 not found"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

// A guest that cannot start its program: create fails with the guest's reason.
TEST_F(VmTest, MissingProgramFailsCreate) {
  Bundle b;
  make_vm(b, {"/no/such/program"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/no/such/program"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

// `run` folds the start into create: the start goes to the guest right behind its config
// (no round trip through create's exit and a start request), so the debug log has the guest
// running, never waiting in created. A program the guest cannot exec (no #! and not ELF)
// still fails run with the guest's reason, and leaves nothing behind.
TEST_F(VmTest, RunStartsWithinCreate) {
  Bundle b;
  make_vm(b, {"sh", "-c", "echo started"});
  b.write();
  TempDir logs;
  std::string log = logs.path() + "/runtime.log";
  CmdResult r = rt({"--debug", "--log", log, "run", "--bundle", b.dir(), rt.new_id()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "started\n");
  std::string text = read_file(log);
  EXPECT_NE(text.find("guest running"), std::string::npos) << text;
  EXPECT_EQ(text.find("guest ready"), std::string::npos) << text;

  Bundle c;
  make_vm(c, {"/etc/not-a-program"});
  c.private_rootfs();
  std::string prog = c.dir() + "/rootfs/etc/not-a-program";
  std::ofstream(prog) << "just text\n";
  ASSERT_EQ(::chmod(prog.c_str(), 0755), 0);
  r = rt.run_bundle(c);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/etc/not-a-program"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::test
