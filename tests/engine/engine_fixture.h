// The engine's integration tests run the real `berth` binary against a store of their own
// (--root and --state in temp dirs), with a busybox image made by `berth import`. After each
// test every container is removed and the fixture asserts that nothing of them is left:
// no mounts, no processes, no cgroups, no network devices.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/harness.h"

namespace berth::test {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // berth --root R --state S ARGS...
  CmdResult berth(const std::vector<std::string>& args, const std::string& input = "",
                  int timeout_s = 60);
  // The same through sh -c, for pipes and terminals; `cmd` is inserted after the globals.
  std::string berth_cmdline() const;
  // Runs and expects exit code 0; returns stdout.
  std::string ok(const std::vector<std::string>& args, const std::string& input = "");
  // `berth container inspect NAME` parsed.
  nlohmann::json inspect(const std::string& name);
  // The container's state in `ps -a --format json` ("" when not listed).
  std::string state_of(const std::string& name);
  // Polls until pred() or timeout; returns pred()'s last value.
  static bool eventually(const std::function<bool()>& pred, int timeout_ms = 10000);
  // The pid of container id's monitor (from its status.json), 0 when there is none.
  pid_t monitor_pid(const std::string& id) const;
  // Everything of this store that is still on the host: mounts, processes, cgroups.
  std::vector<std::string> leftovers() const;

  const std::string& root() const { return root_.path(); }
  const std::string& state() const { return state_.path(); }

 private:
  TempDir root_{"berth-eng-root"};
  TempDir state_{"berth-eng-state"};
};

// {"run", "--rm", "--network", "none", cmd...}
std::vector<std::string> rm_none(std::vector<std::string> cmd);
// s without trailing newlines and spaces.
std::string trim(std::string s);

// The tar of the busybox root file system the tests import (made once per process).
const std::string& busybox_tar();

}  // namespace berth::test
