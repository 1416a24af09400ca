// A fixture for VM integration tests: RuntimeTest plus a kernel found once, a private VM
// cache dir for the test process, VM bundles, and a check after each test that no monitor,
// QEMU or virtiofsd process of its VMs is left.
#pragma once

#include <string>
#include <vector>

#include "support/runtime_fixture.h"

namespace berth::test {

class VmTest : public RuntimeTest {
 protected:
  static void SetUpTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Makes a bundle (busybox rootfs, read-only) ask for VM isolation and run args.
  void make_vm(Bundle& b, const std::vector<std::string>& args);
  // Processes (pid and command line) of VMs that mention needle, waiting up to wait_ms for
  // them to go.
  std::vector<std::string> vm_processes(const std::string& needle, int wait_ms = 5000);
  // Polls `berth-runtime state` until the status is `want` (or timeout); returns the last.
  std::string wait_status(const std::string& id, const std::string& want, int timeout_ms);
  // Runs `berth-runtime run` with input on stdin.
  CmdResult run_with_input(Bundle& b, const std::string& input, int timeout_s = 120);

  static std::string kernel_error_;
};

}  // namespace berth::test
