// A gtest fixture for runtime integration tests: a Runtime with its own --root, and a check
// after each test that nothing of its containers is left (mounts, cgroups, processes, state).
#pragma once

#include "support/harness.h"

namespace berth::test {

class RuntimeTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Runs the bundle with `berth-runtime run` and returns stdout; expects exit 0.
  std::string run_ok(Bundle& b);
  // Starts `berth-runtime create` with stdout and stderr sent to files in the bundle dir.
  CmdResult create_detached(Bundle& b, const std::string& id,
                            const std::vector<std::string>& extra = {});
  std::string state_status(const std::string& id);
  // Waits until the file has `text` (or timeout); returns its content.
  std::string wait_for_output(const std::string& file, const std::string& text,
                              int timeout_ms = 5000);

  Runtime rt;
};

}  // namespace berth::test
