// Runs after the whole suite: no test may leave a mount, cgroup, process, temp dir, network
// device or nftables table behind.
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "support/harness.h"

int main() {
  std::vector<std::string> found = berth::test::leaks("berth-test");
  for (auto& l : berth::test::leaks("/bt-")) found.push_back(l);
  for (auto& l : berth::test::leaks("berth-eng")) found.push_back(l);
  if (DIR* d = opendir("/tmp")) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("berth-test", 0) == 0 || n.rfind("berth-eng", 0) == 0)
        found.push_back("temp dir /tmp/" + n);
    }
    closedir(d);
  }
  // Test stores name their bridges and nftables tables berth<hash> / berth_<hash>; the main
  // store's (berth0, table berth) are not the tests'.
  if (DIR* d = opendir("/sys/class/net")) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("berth", 0) == 0 && n != "berth0") found.push_back("network device " + n);
    }
    closedir(d);
  }
  // Monitors of test stores (their argument is a monitor dir under the store's state).
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::string cmd = berth::test::read_file(std::string("/proc/") + e->d_name + "/cmdline");
      for (char& c : cmd)
        if (c == '\0') c = ' ';
      if (cmd.find("berth-monitor") != std::string::npos &&
          (cmd.find("/berth-eng") != std::string::npos ||
           cmd.find("/berth-test") != std::string::npos))
        found.push_back("process " + std::string(e->d_name) + ": " + cmd);
    }
    closedir(d);
  }
  berth::test::CmdResult tables = berth::test::run({"nft", "list", "tables"});
  std::istringstream lines(tables.out);
  std::string line;
  while (std::getline(lines, line))
    if (line.find(" berth_") != std::string::npos) found.push_back("nftables " + line);
  // berth keeps the shared cgroup parent /berth in every hierarchy (as Docker keeps /docker):
  // no container's cgroup may be left under it, and the suite gives the empty parent back.
  if (DIR* root = opendir("/sys/fs/cgroup")) {
    while (dirent* h = readdir(root)) {
      if (h->d_name[0] == '.') continue;
      std::string parent = std::string("/sys/fs/cgroup/") + h->d_name + "/berth";
      DIR* d = opendir(parent.c_str());
      if (!d) continue;
      bool children = false;
      while (dirent* e = readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        children = true;
        found.push_back("cgroup " + parent + "/" + e->d_name);
      }
      closedir(d);
      if (!children && rmdir(parent.c_str()) != 0)
        found.push_back("cgroup " + parent + " (empty, but cannot be removed)");
    }
    closedir(root);
  }
  for (const auto& f : found) printf("leak: %s\n", f.c_str());
  if (!found.empty()) {
    printf("%zu leaks\n", found.size());
    return 1;
  }
  printf("no leaks\n");
  return 0;
}
