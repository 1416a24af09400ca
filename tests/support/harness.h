// Integration-test support: busybox bundles, running the real binaries, and leak checks.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::test {

struct CmdResult {
  int exit_code = -1;  // 128+signal when killed
  std::string out;
  std::string err;
};

// Runs argv with the given stdin text; kills it after timeout_s seconds.
CmdResult run(const std::vector<std::string>& argv, const std::string& input = "",
              int timeout_s = 60);
// Runs a shell command line (bash -c).
CmdResult sh(const std::string& command, int timeout_s = 60);

// A fresh temp dir, removed (after unmounting anything left below it) when destroyed.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "berth-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A root file system of busybox-static (with its applets linked) plus the probe at /probe.
// Built once per test process, shared read-only; copy_rootfs() makes a private copy.
const std::string& shared_rootfs();
void make_rootfs(const std::string& dir);

// An OCI bundle in a temp dir whose config.json starts as `berth-runtime spec` output with
// terminal off and a read-only shared rootfs; tests edit config() then write().
class Bundle {
 public:
  Bundle();
  const std::string& dir() const { return tmp_.path(); }
  nlohmann::json& config() { return config_; }
  void set_args(const std::vector<std::string>& args);
  // Gives this bundle its own writable copy of the rootfs.
  void private_rootfs();
  void write() const;

 private:
  TempDir tmp_;
  nlohmann::json config_;
};

// berth-runtime with a private --root; unique container ids per test.
class Runtime {
 public:
  Runtime();
  ~Runtime();  // force-deletes any container this object created
  const std::string& root() const { return root_.path(); }
  std::string new_id();
  CmdResult operator()(const std::vector<std::string>& args, const std::string& input = "",
                       int timeout_s = 60);
  // berth-runtime run --bundle B ID ; returns the result and deletes the container.
  CmdResult run_bundle(Bundle& b, const std::vector<std::string>& extra = {});

 private:
  TempDir root_;
  std::vector<std::string> ids_;
  int next_ = 0;
};

// The test process is a child subreaper (as conmon and containerd's shim are): detached
// containers are re-parented to it when berth-runtime exits. This reaps those that exited.
void reap_orphans();

// Mounts, cgroups, processes and state left behind that mention `needle`.
std::vector<std::string> leaks(const std::string& needle);

std::string read_file(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace berth::test
