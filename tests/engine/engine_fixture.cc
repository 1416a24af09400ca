#include "engine/engine_fixture.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

namespace berth::test {

namespace {

std::set<std::string> g_seen_ids;  // every container id this process saw in a store

void note_ids(const std::string& root) {
  DIR* d = opendir((root + "/containers").c_str());
  if (!d) return;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') g_seen_ids.insert(e->d_name);
  closedir(d);
}

std::vector<std::string> lines_with(const std::string& file, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(read_file(file));
  std::string line;
  while (std::getline(in, line))
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

}  // namespace

std::vector<std::string> rm_none(std::vector<std::string> cmd) {
  std::vector<std::string> v = {"run", "--rm", "--network", "none"};
  v.insert(v.end(), cmd.begin(), cmd.end());
  return v;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

const std::string& busybox_tar() {
  static const std::string tar = [] {
    static TempDir dir("berth-eng-image");
    std::string t = dir.path() + "/busybox.tar";
    CmdResult r = sh("tar -C " + shared_rootfs() + " -cf " + t + " .");
    if (r.exit_code != 0) ADD_FAILURE() << "tar: " << r.err;
    return t;
  }();
  return tar;
}

void EngineTest::SetUp() {
  CmdResult r = berth({"import", busybox_tar(), "busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void EngineTest::TearDown() {
  CmdResult ids = berth({"ps", "-a", "-q"});
  std::istringstream in(ids.out);
  std::string id;
  while (in >> id) {
    CmdResult r = berth({"rm", "-f", "-v", id});
    EXPECT_EQ(r.exit_code, 0) << "rm -f " << id << ": " << r.err;
  }
  berth({"network", "prune"});
  reap_orphans();
  std::vector<std::string> left;
  eventually([&] {
    reap_orphans();
    left = leftovers();
    return left.empty();
  });
  for (const auto& l : left) ADD_FAILURE() << "left behind: " << l;
}

CmdResult EngineTest::berth(const std::vector<std::string>& args, const std::string& input,
                            int timeout_s) {
  std::vector<std::string> argv = {BERTH_CLI_BIN, "--root", root(), "--state", state()};
  argv.insert(argv.end(), args.begin(), args.end());
  CmdResult r = run(argv, input, timeout_s);
  note_ids(root());
  return r;
}

std::string EngineTest::berth_cmdline() const {
  return std::string(BERTH_CLI_BIN) + " --root " + root() + " --state " + state();
}

std::string EngineTest::ok(const std::vector<std::string>& args, const std::string& input) {
  CmdResult r = berth(args, input);
  std::string cmd;
  for (const auto& a : args) cmd += a + " ";
  EXPECT_EQ(r.exit_code, 0) << "berth " << cmd << "\n" << r.err;
  return r.out;
}

nlohmann::json EngineTest::inspect(const std::string& name) {
  CmdResult r = berth({"container", "inspect", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_array() && !j.empty()) return j[0];
  return nlohmann::json::object();
}

std::string EngineTest::state_of(const std::string& name) {
  CmdResult r = berth({"ps", "-a", "--format", "json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_array()) return "";
  for (const auto& c : j)
    if (c["Names"][0] == name) return c["State"].get<std::string>();
  return "";
}

bool EngineTest::eventually(const std::function<bool()>& pred, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (pred()) return true;
    usleep(50 * 1000);
  }
  return pred();
}

pid_t EngineTest::monitor_pid(const std::string& id) const {
  auto j =
      nlohmann::json::parse(read_file(state() + "/monitor/" + id + "/status.json"), nullptr, false);
  if (!j.is_object() || !j.contains("monitorPid")) return 0;
  return j["monitorPid"].get<pid_t>();
}

std::vector<std::string> EngineTest::leftovers() const {
  std::vector<std::string> out;
  for (const auto& l : lines_with("/proc/self/mountinfo", root())) out.push_back("mount: " + l);
  for (const auto& l : lines_with("/proc/self/mountinfo", state())) out.push_back("mount: " + l);
  // Processes: monitors (their argv names the state dir) and anything whose root is in the
  // store (container processes).
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (!isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    std::string p = std::string("/proc/") + e->d_name;
    std::string stat = read_file(p + "/stat");
    if (stat.find(") Z") != std::string::npos) continue;  // a zombie is gone already
    std::string cmd = read_file(p + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    char rootlink[PATH_MAX];
    ssize_t n = readlink((p + "/root").c_str(), rootlink, sizeof rootlink - 1);
    std::string r = n > 0 ? std::string(rootlink, static_cast<size_t>(n)) : "";
    bool ours = cmd.find(state()) != std::string::npos || r.rfind(root(), 0) == 0;
    // A VM's QEMU is named berth-<id>.
    for (const auto& id : g_seen_ids) ours = ours || cmd.find("berth-" + id) != std::string::npos;
    if (ours) out.push_back("process " + std::string(e->d_name) + ": " + cmd);
  }
  if (d) closedir(d);
  // cgroups of every container id seen in this process's stores.
  for (const char* base : {"/sys/fs/cgroup/memory/berth", "/sys/fs/cgroup/pids/berth",
                           "/sys/fs/cgroup/unified/berth", "/sys/fs/cgroup/berth"})
    for (const auto& id : g_seen_ids)
      if (file_exists(std::string(base) + "/" + id))
        out.push_back("cgroup: " + std::string(base) + "/" + id);
  return out;
}

}  // namespace berth::test
