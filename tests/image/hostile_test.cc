// The hostile layer corpus (tests/data/hostile, made by make_corpus.py): every tar is either
// rejected or contained: nothing outside the layer directory is created, changed or followed.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <map>

#include "base/unique_fd.h"
#include "image/stream.h"
#include "image/support/image_support.h"
#include "image/unpack.h"

namespace berth::test {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  std::string dir = BERTH_IMAGE_DATA;
  dir += "/hostile";  // not `std::string(...) + "..."`: g++ 12 -O1 warns falsely on that
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.substr(n.size() - 4) == ".tar") out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Names, types, modes and contents of everything below dir.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  CmdResult r = sh("cd " + dir + " && find . -printf '%p %y %m %s %l\\n' | sort");
  out["listing"] = r.out;
  out["victim"] = read_file(dir + "/victim");
  return out;
}

TEST(HostileLayers, RejectedOrContained) {
  auto files = corpus();
  ASSERT_GE(files.size(), 20u) << "hostile corpus missing";
  for (const auto& tar : files) {
    SCOPED_TRACE(tar);
    TempDir tmp("berth-test-hostile");
    std::string layer = tmp.path() + "/layer", outside = tmp.path() + "/outside";
    write_file(outside + "/victim", "original\n");
    mkdir(layer.c_str(), 0755);
    auto before = snapshot(outside);
    berth::UniqueFd in(open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    berth::UniqueFd dir(open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(in && dir);
    image::FileReader fr(in.get());
    image::DecompressReader dr(fr);
    auto r = image::unpack_layer(dr, dir.get());
    printf("%s: %s\n", tar.substr(tar.rfind('/') + 1).c_str(),
           r ? "contained" : r.error().text().c_str());
    EXPECT_EQ(snapshot(outside), before);
    EXPECT_FALSE(file_exists("/tmp/berth-test-hostile-abs"));
    unlink("/tmp/berth-test-hostile-abs");
    if (r && tar.find("overlay_xattr") != std::string::npos) {
      char buf[256];
      EXPECT_LT(getxattr((layer + "/f").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
      EXPECT_LT(getxattr((layer + "/f").c_str(), "trusted.overlay.metacopy", buf, sizeof buf), 0);
    }
    if (tar.find("hardlink_") != std::string::npos ||
        tar.find("whiteout_dotdot") != std::string::npos ||
        tar.find("whiteout_empty") != std::string::npos ||
        tar.find("dotdot") != std::string::npos) {
      EXPECT_FALSE(r) << "expected a rejection";
    }
  }
}

}  // namespace
}  // namespace berth::test
