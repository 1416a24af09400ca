// `berth run --isolation=vm`: the same image and flags in a VM with its own kernel (QEMU;
// TCG here). Its own binary, label vm, and the vm resource lock: VM tests do not run two at
// a time (each wants both cores under TCG).
#include <unistd.h>

#include "engine/engine_fixture.h"
#include "vm/vm_env.h"

namespace berth::test {
namespace {

class EngineVm : public EngineTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(use_test_vm_env(), "");
    EngineTest::SetUp();
  }
};

TEST_F(EngineVm, VmIsolationRunsTheSameImageUnderItsOwnKernel) {
  CmdResult host = berth(rm_none({"busybox", "uname", "-r"}));
  CmdResult vm = berth(rm_none({"--isolation", "vm", "-e", "X=in-vm", "busybox", "sh", "-c",
                                "uname -r; echo $X; exit 5"}),
                       "", 240);
  EXPECT_EQ(vm.exit_code, 5) << vm.err;
  EXPECT_NE(vm.out.find("\nin-vm\n"), std::string::npos) << vm.out << vm.err;
  EXPECT_NE(vm.out.substr(0, vm.out.find('\n') + 1), host.out) << "a VM runs its own kernel";
  EXPECT_EQ(ok({"ps", "-a", "-q"}), "");
}

TEST_F(EngineVm, VmOnTheBridgeServesAPublishedPort) {
  // The guest takes the container's address on the store's bridge; the host reaches it
  // through the published port, as it would a container.
  int port = 20000 + ((getpid() + 7) % 20000);
  ok({"run", "-d", "--name", "vmweb", "--isolation", "vm", "-p",
      "127.0.0.1:" + std::to_string(port) + ":80", "busybox", "httpd", "-f", "-p", "80", "-h",
      "/etc"});
  CmdResult got;
  EXPECT_TRUE(eventually(
      [&] {
        // (busybox wget's -T crashes: the harness's timeout bounds it instead)
        got = run({"busybox", "wget", "-q", "-O", "-",
                   "http://127.0.0.1:" + std::to_string(port) + "/passwd"},
                  "", 5);
        return got.out.find("root:x:0:0") != std::string::npos;
      },
      60000))
      << got.out << got.err;
  EXPECT_EQ(inspect("vmweb")["Isolation"], "vm");
  CmdResult host =
      berth({"run", "--rm", "--isolation", "vm", "--network", "host", "busybox", "true"});
  EXPECT_EQ(host.exit_code, 125);
  EXPECT_NE(host.err.find("--network host"), std::string::npos) << host.err;
  ok({"rm", "-f", "vmweb"});
}

}  // namespace
}  // namespace berth::test
