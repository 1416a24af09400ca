// Namespaces seen from inside the container: pid, uts, user (maps), joined by path, cgroup,
// ipc, time offsets, sysctl.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/runtime_fixture.h"

namespace berth::test {
namespace {

using Namespaces = RuntimeTest;

std::string ns_link(const std::string& pid, const std::string& ns) {
  char buf[256];
  ssize_t n = readlink(("/proc/" + pid + "/ns/" + ns).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_F(Namespaces, PidNamespaceMakesTheProgramPid1) {
  Bundle b;
  b.set_args({"sh", "-c", "echo $$; ps -o pid | wc -l"});
  std::string out = run_ok(b);
  EXPECT_EQ(out.substr(0, 2), "1\n") << out;
}

TEST_F(Namespaces, HostnameAndDomainname) {
  Bundle b;
  b.config()["hostname"] = "box1";
  b.config()["domainname"] = "example.test";
  b.set_args({"sh", "-c", "hostname; cat /proc/sys/kernel/domainname"});
  EXPECT_EQ(run_ok(b), "box1\nexample.test\n");
}

TEST_F(Namespaces, HostnameWithoutUtsNamespaceIsAnError) {
  Bundle b;
  nlohmann::json ns = nlohmann::json::array();
  for (auto& n : b.config()["linux"]["namespaces"])
    if (n["type"] != "uts") ns.push_back(n);
  b.config()["linux"]["namespaces"] = ns;
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("hostname"), std::string::npos) << r.err;
}

TEST_F(Namespaces, UserNamespaceWithMappings) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.set_args(
      {"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox"});
  std::string out = run_ok(b);
  EXPECT_NE(out.find("0     100000      65536"), std::string::npos) << out;
  // Host root owns the rootfs; it is not mapped, so the container sees the overflow uid.
  EXPECT_NE(out.find("\n0\n65534\n"), std::string::npos) << out;
}

TEST_F(Namespaces, NewUserNamespaceNeedsMappings) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("uidMappings"), std::string::npos) << r.err;
}

TEST_F(Namespaces, JoinsANetworkNamespaceByPath) {
  // A holder process in its own network namespace, made by unshare(1).
  CmdResult holder = sh("unshare --net sleep 30 >/dev/null 2>&1 & echo $!");
  std::string pid = holder.out.substr(0, holder.out.find('\n'));
  // Until unshare(1) has made the namespace, the holder is still in ours.
  std::string want;
  for (int i = 0; i < 250 && (want.empty() || want == ns_link("self", "net")); ++i) {
    usleep(20 * 1000);
    want = ns_link(pid, "net");
  }
  ASSERT_FALSE(want.empty());
  Bundle b;
  for (auto& n : b.config()["linux"]["namespaces"])
    if (n["type"] == "network") n["path"] = "/proc/" + pid + "/ns/net";
  b.set_args({"readlink", "/proc/self/ns/net"});
  std::string out = run_ok(b);
  kill(std::stoi(pid), SIGKILL);
  EXPECT_EQ(out, want + "\n");
  EXPECT_NE(ns_link("self", "net"), want);
}

TEST_F(Namespaces, BadNamespacePathIsAnErrorNamingIt) {
  Bundle b;
  for (auto& n : b.config()["linux"]["namespaces"])
    if (n["type"] == "network") n["path"] = "/proc/self/ns/no-such-ns";
  b.set_args({"true"});
  CmdResult r = rt.run_bundle(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/proc/self/ns/no-such-ns"), std::string::npos) << r.err;
}

TEST_F(Namespaces, IpcAndCgroupNamespacesAreNew) {
  Bundle b;
  b.set_args({"sh", "-c", "readlink /proc/self/ns/ipc; grep memory /proc/self/cgroup"});
  std::string out = run_ok(b);
  EXPECT_EQ(out.find(ns_link("self", "ipc")), std::string::npos) << out;
  EXPECT_NE(out.find(":memory:/\n"), std::string::npos) << out;
}

TEST_F(Namespaces, TimeNamespaceOffsets) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "time"}});
  b.config()["linux"]["timeOffsets"] = {{"boottime", {{"secs", 86400 * 100}, {"nanosecs", 0}}}};
  b.set_args({"cat", "/proc/uptime"});
  std::string out = run_ok(b);
  double up = std::stod(out);
  EXPECT_GT(up, 86400.0 * 100) << out;
}

TEST_F(Namespaces, Sysctl) {
  Bundle b;
  b.config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "2048"}};
  b.set_args({"sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"});
  EXPECT_EQ(run_ok(b), "1\n2048\n");
}

TEST_F(Namespaces, NetworkNamespaceHasOnlyLoopback) {
  Bundle b;
  b.set_args({"sh", "-c", "ls /sys/class/net"});
  EXPECT_EQ(run_ok(b), "lo\n");
}

}  // namespace
}  // namespace berth::test
