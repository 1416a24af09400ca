#include "vm/vm_fixture.h"

#include <dirent.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "vm/kernel.h"
#include "vm/vm_env.h"

namespace berth::test {

std::string VmTest::kernel_error_;

void VmTest::SetUpTestSuite() { kernel_error_ = use_test_vm_env(); }

void VmTest::SetUp() { ASSERT_TRUE(kernel_error_.empty()) << kernel_error_; }

void VmTest::TearDown() {
  RuntimeTest::TearDown();
  // Monitors carry the runtime root in their command line, QEMU its state paths and
  // virtiofsd the test's shared directories.
  std::vector<std::string> left = vm_processes(rt.root());
  // QEMU and virtiofsd of any VM test (berth-runtime processes with /tmp/berth-test in
  // their arguments may be other suites' containers, running beside this test).
  for (const auto& p : vm_processes("/tmp/berth-test", 0))
    if (p.find("berth-runtime") == std::string::npos) left.push_back(p);
  EXPECT_TRUE(left.empty()) << "VM processes left behind:\n"
                            << [&] {
                                 std::string s;
                                 for (const auto& l : left) s += l + "\n";
                                 return s;
                               }();
}

void VmTest::make_vm(Bundle& b, const std::vector<std::string>& args) {
  b.set_args(args);
  b.config()["annotations"]["run.oci.berth.isolation"] = "vm";
}

std::vector<std::string> VmTest::vm_processes(const std::string& needle, int wait_ms) {
  std::vector<std::string> found;
  for (int waited = 0;; waited += 50) {
    found.clear();
    reap_orphans();
    DIR* d = opendir("/proc");
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      if (atoi(e->d_name) == getpid()) continue;
      std::string cmd = read_file(std::string("/proc/") + e->d_name + "/cmdline");
      for (char& c : cmd)
        if (c == '\0') c = ' ';
      bool vm = cmd.find("qemu-system") != std::string::npos ||
                cmd.find("virtiofsd") != std::string::npos ||
                cmd.find("berth-runtime") != std::string::npos;
      if (vm && cmd.find(needle) != std::string::npos)
        found.push_back(std::string(e->d_name) + ": " + cmd);
    }
    closedir(d);
    if (found.empty() || waited >= wait_ms) return found;
    timespec ts{0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

std::string VmTest::wait_status(const std::string& id, const std::string& want, int timeout_ms) {
  std::string s;
  for (int waited = 0; waited <= timeout_ms; waited += 100) {
    s = state_status(id);
    if (s == want) return s;
    timespec ts{0, 100 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return s;
}

CmdResult VmTest::run_with_input(Bundle& b, const std::string& input, int timeout_s) {
  b.write();
  return rt({"run", "--bundle", b.dir(), rt.new_id()}, input, timeout_s);
}

}  // namespace berth::test
