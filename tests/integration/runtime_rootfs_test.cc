// The root file system: read-only root, every mount type and option, propagation, devices,
// masked and read-only paths, no-pivot, and mount targets that symlinks cannot redirect.
#include <sys/stat.h>
#include <unistd.h>

#include "support/runtime_fixture.h"

namespace berth::test {
namespace {

using Rootfs = RuntimeTest;

// The mountinfo line for a mount point, from inside the container.
std::string mount_line(const std::string& mountinfo, const std::string& mp) {
  std::istringstream in(mountinfo);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string a, b, c, d, m;
    f >> a >> b >> c >> d >> m;
    if (m == mp) found = line;  // the last one is on top
  }
  return found;
}

TEST_F(Rootfs, ReadonlyRoot) {
  Bundle b;
  b.set_args({"sh", "-c", "touch /newfile 2>&1; echo rc=$?"});
  EXPECT_NE(run_ok(b).find("Read-only file system"), std::string::npos);
  b.private_rootfs();
  b.set_args({"sh", "-c", "touch /newfile && echo ok"});
  EXPECT_EQ(run_ok(b), "ok\n");
}

TEST_F(Rootfs, BindMountsReadWriteAndReadOnly) {
  TempDir rw, ro;
  Bundle b;
  b.config()["mounts"].push_back(
      {{"destination", "/rw"}, {"type", "bind"}, {"source", rw.path()}, {"options", {"rbind"}}});
  b.config()["mounts"].push_back({{"destination", "/ro"},
                                  {"type", "none"},
                                  {"source", ro.path()},
                                  {"options", {"bind", "ro", "nosuid", "nodev", "noexec"}}});
  b.set_args(
      {"sh", "-c",
       "echo data > /rw/f && touch /ro/f 2>/dev/null; echo ro=$?; cat /proc/self/mountinfo"});
  b.private_rootfs();
  std::string out = run_ok(b);
  EXPECT_EQ(read_file(rw.path() + "/f"), "data\n");
  EXPECT_NE(out.find("ro=1"), std::string::npos) << out;
  std::string line = mount_line(out, "/ro");
  EXPECT_NE(line.find(" ro,nosuid,nodev,noexec"), std::string::npos) << line;
}

TEST_F(Rootfs, FileBindMount) {
  TempDir d;
  sh("echo filecontent > " + d.path() + "/file");
  Bundle b;
  b.private_rootfs();
  b.config()["mounts"].push_back({{"destination", "/etc/mounted-file"},
                                  {"type", "bind"},
                                  {"source", d.path() + "/file"},
                                  {"options", {"bind", "ro"}}});
  b.set_args({"cat", "/etc/mounted-file"});
  EXPECT_EQ(run_ok(b), "filecontent\n");
}

TEST_F(Rootfs, TmpfsWithOptionsAndTmpcopyup) {
  Bundle b;
  b.private_rootfs();
  sh("mkdir -p " + b.dir() + "/rootfs/seed && echo seeded > " + b.dir() + "/rootfs/seed/file");
  b.config()["mounts"].push_back({{"destination", "/scratch"},
                                  {"type", "tmpfs"},
                                  {"source", "tmpfs"},
                                  {"options", {"size=1m", "mode=700", "noexec"}}});
  b.config()["mounts"].push_back({{"destination", "/seed"},
                                  {"type", "tmpfs"},
                                  {"source", "tmpfs"},
                                  {"options", {"tmpcopyup"}}});
  b.set_args({"sh", "-c", "stat -c %a /scratch; cat /seed/file; cat /proc/self/mountinfo"});
  std::string out = run_ok(b);
  EXPECT_EQ(out.substr(0, 4), "700\n") << out;
  EXPECT_NE(out.find("seeded"), std::string::npos) << out;
  std::string line = mount_line(out, "/scratch");
  EXPECT_NE(line.find("noexec"), std::string::npos) << line;
  EXPECT_NE(line.find("size=1024k"), std::string::npos) << line;
  EXPECT_NE(mount_line(out, "/seed").find("tmpfs"), std::string::npos);
}

TEST_F(Rootfs, DefaultMountsProcSysDevptsShmMqueueCgroup) {
  Bundle b;
  b.set_args({"cat", "/proc/self/mountinfo"});
  std::string out = run_ok(b);
  EXPECT_NE(mount_line(out, "/proc").find(" - proc "), std::string::npos);
  EXPECT_NE(mount_line(out, "/sys").find(" - sysfs "), std::string::npos);
  EXPECT_NE(mount_line(out, "/dev").find(" - tmpfs "), std::string::npos);
  EXPECT_NE(mount_line(out, "/dev/pts").find(" - devpts "), std::string::npos);
  EXPECT_NE(mount_line(out, "/dev/pts").find("ptmxmode=666"), std::string::npos);
  EXPECT_NE(mount_line(out, "/dev/shm").find(" - tmpfs "), std::string::npos);
  EXPECT_NE(mount_line(out, "/dev/mqueue").find(" - mqueue "), std::string::npos);
  EXPECT_NE(mount_line(out, "/sys/fs/cgroup/memory").find(" - cgroup "), std::string::npos) << out;
  EXPECT_NE(mount_line(out, "/sys/fs/cgroup/unified").find(" - cgroup2 "), std::string::npos);
  EXPECT_NE(mount_line(out, "/sys/fs/cgroup/memory").find(" ro,"), std::string::npos);
}

TEST_F(Rootfs, PropagationOptionsAndRootfsPropagation) {
  TempDir d;
  Bundle b;
  b.private_rootfs();
  b.config()["linux"]["rootfsPropagation"] = "shared";
  b.config()["mounts"].push_back({{"destination", "/shared"},
                                  {"type", "bind"},
                                  {"source", d.path()},
                                  {"options", {"rbind", "rshared"}}});
  b.config()["mounts"].push_back({{"destination", "/private"},
                                  {"type", "tmpfs"},
                                  {"source", "tmpfs"},
                                  {"options", {"private"}}});
  b.set_args({"cat", "/proc/self/mountinfo"});
  std::string out = run_ok(b);
  EXPECT_NE(mount_line(out, "/shared").find(" shared:"), std::string::npos) << out;
  EXPECT_EQ(mount_line(out, "/private").find(" shared:"), std::string::npos) << out;
  EXPECT_NE(mount_line(out, "/").find(" shared:"), std::string::npos) << out;
}

TEST_F(Rootfs, RecursiveReadOnlyOption) {
  TempDir d;
  sh("mkdir " + d.path() + "/sub && mount -t tmpfs tmpfs " + d.path() + "/sub");
  Bundle b;
  b.config()["mounts"].push_back({{"destination", "/rro"},
                                  {"type", "bind"},
                                  {"source", d.path()},
                                  {"options", {"rbind", "rro"}}});
  b.set_args({"sh", "-c", "touch /rro/sub/x 2>/dev/null; echo rc=$?"});
  b.private_rootfs();
  std::string out = run_ok(b);
  sh("umount " + d.path() + "/sub");
  EXPECT_EQ(out, "rc=1\n");
}

TEST_F(Rootfs, DefaultDevicesLinksAndConfigDevices) {
  Bundle b;
  b.config()["linux"]["devices"] = {{{"path", "/dev/fuse"},
                                     {"type", "c"},
                                     {"major", 10},
                                     {"minor", 229},
                                     {"fileMode", 432},
                                     {"uid", 0},
                                     {"gid", 0}}};
  b.set_args({"sh", "-c",
              "for d in null zero full random urandom tty fuse; do stat -c '%n %t:%T %a' /dev/$d; "
              "done; for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && echo "
              "null-ok"});
  std::string out = run_ok(b);
  EXPECT_NE(out.find("/dev/null 1:3 666"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/zero 1:5 666"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/tty 5:0 666"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/fuse a:e5 660"), std::string::npos) << out;
  EXPECT_NE(out.find("/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n"), std::string::npos) << out;
  EXPECT_NE(out.find("null-ok"), std::string::npos);
}

TEST_F(Rootfs, MaskedAndReadonlyPaths) {
  Bundle b;
  b.config()["linux"]["maskedPaths"] = {"/proc/keys", "/sys/firmware", "/no/such/path"};
  b.config()["linux"]["readonlyPaths"] = {"/proc/sys"};
  b.set_args(
      {"sh", "-c",
       "wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/vm/overcommit_memory "
       "2>/dev/null; echo rc=$?"});
  EXPECT_EQ(run_ok(b), "0\n0\nrc=1\n");
}

TEST_F(Rootfs, NoPivot) {
  Bundle b;
  b.set_args({"sh", "-c", "cat /proc/self/mountinfo | head -1; ls /probe"});
  b.write();
  std::string id = rt.new_id();
  CmdResult r = rt({"run", "--no-pivot", "--bundle", b.dir(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/probe"), std::string::npos);
}

TEST_F(Rootfs, MissingRootfsIsAnErrorAndLeavesNothing) {
  Bundle b;
  b.config()["root"]["path"] = "/no/such/rootfs";
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("root.path"), std::string::npos) << r.err;
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

// A hostile rootfs whose symlinks point at the host: mounts must land inside the rootfs.
class SymlinkEscape : public RuntimeTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SymlinkEscape, MountTargetsStayInsideTheRootfs) {
  bool fallback = GetParam();
  TempDir host;  // stands for a host directory the image tries to reach
  Bundle b;
  b.private_rootfs();
  std::string rootfs = b.dir() + "/rootfs";
  sh("ln -s " + host.path() + " " + rootfs + "/abs-link");
  sh("ln -s ../../../../../../../../" + host.path() + " " + rootfs + "/rel-link");
  sh("mkdir -p " + rootfs + "/d && ln -s /../../.. " + rootfs + "/d/up");
  b.config()["mounts"].push_back(
      {{"destination", "/abs-link/x"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.config()["mounts"].push_back(
      {{"destination", "/rel-link/y"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.config()["mounts"].push_back(
      {{"destination", "/d/up/z"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.config()["linux"]["devices"] = {
      {{"path", "/abs-link/evil-null"}, {"type", "c"}, {"major", 1}, {"minor", 3}}};
  b.set_args({"sh", "-c", "cat /proc/self/mountinfo"});
  b.write();
  std::string id = rt.new_id();
  std::vector<std::string> argv = {"env"};
  if (fallback) argv.push_back("BERTH_FORCE_ENOSYS=openat2");
  argv.insert(argv.end(), {BERTH_RUNTIME_BIN, "--root", rt.root(), "run", "--bundle", b.dir(), id});
  CmdResult r = run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Nothing appeared in the host directory or at the host's root.
  EXPECT_EQ(sh("ls -A " + host.path()).out, "");
  EXPECT_FALSE(file_exists("/z"));
  // The mounts were made inside the rootfs, where the links resolve when it is "/".
  EXPECT_NE(r.out.find(host.path() + "/x"), std::string::npos) << r.out;
  EXPECT_TRUE(file_exists(rootfs + host.path() + "/x"));
  EXPECT_TRUE(file_exists(rootfs + "/z"));
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, SymlinkEscape, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Fallback" : "Openat2"; });

}  // namespace
}  // namespace berth::test
