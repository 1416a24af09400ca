// Runs after the whole suite: no test may leave a mount, cgroup, process or temp dir behind.
#include <dirent.h>

#include <cstdio>

#include "support/harness.h"

int main() {
  std::vector<std::string> found = berth::test::leaks("berth-test");
  for (auto& l : berth::test::leaks("/bt-")) found.push_back(l);
  if (DIR* d = opendir("/tmp")) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("berth-test", 0) == 0) found.push_back("temp dir /tmp/" + n);
    }
    closedir(d);
  }
  for (const auto& f : found) printf("leak: %s\n", f.c_str());
  if (!found.empty()) {
    printf("%zu leaks\n", found.size());
    return 1;
  }
  printf("no leaks\n");
  return 0;
}
