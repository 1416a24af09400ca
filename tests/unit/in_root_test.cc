// The in-root resolver: symlinks and ".." never leave the root, with openat2 and with the
// component walk used where openat2 is missing.
#include "sys/in_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/unique_fd.h"
#include "support/harness.h"

namespace berth {
namespace {

std::string where(int fd) {
  char buf[4096];
  ssize_t n = readlink(sys::fd_path(fd).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

class InRoot : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/root";
    test::sh("mkdir -p " + root_ + "/a/b " + tmp_.path() + "/outside && ln -s /a " + root_ +
             "/abs && ln -s ../../../.. " + root_ + "/a/up && ln -s " + tmp_.path() + "/outside " +
             root_ + "/host && ln -s loop2 " + root_ + "/loop1 && ln -s loop1 " + root_ + "/loop2");
    fd_.reset(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  Result<UniqueFd> open_in(std::string_view p, sys::Create c = sys::Create::kNone) {
    return GetParam() ? sys::open_in_root_walk(fd_.get(), p, c)
                      : sys::open_in_root(fd_.get(), p, c);
  }
  test::TempDir tmp_;
  std::string root_;
  UniqueFd fd_;
};

TEST_P(InRoot, ResolvesInsideTheRoot) {
  EXPECT_EQ(where(open_in("/abs/b")->get()), root_ + "/a/b");
  EXPECT_EQ(where(open_in("/a/up/a")->get()), root_ + "/a");
  EXPECT_EQ(where(open_in("/../../a")->get()), root_ + "/a");
  // /host points at a real host dir; inside the root it names root/<that path>, which is
  // missing: not found, never the host dir.
  auto h = open_in("/host");
  EXPECT_FALSE(h);
  EXPECT_EQ(h.error().sys_errno(), ENOENT);
  EXPECT_EQ(open_in("/loop1").error().sys_errno(), ELOOP);
}

TEST_P(InRoot, CreatesMissingPartsInsideTheRoot) {
  auto d = open_in("/host/new/dir", sys::Create::kDir);
  ASSERT_TRUE(d) << d.error().text();
  EXPECT_EQ(where(d->get()), root_ + tmp_.path() + "/outside/new/dir");
  EXPECT_EQ(test::sh("ls -A " + tmp_.path() + "/outside").out, "");
  auto f = open_in("/a/up/file", sys::Create::kFile);
  ASSERT_TRUE(f);
  struct stat st {};
  ASSERT_EQ(stat((root_ + "/file").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // Only the last part missing, its parent through an absolute symlink: made in root/a.
  auto c = open_in("/abs/c", sys::Create::kDir);
  ASSERT_TRUE(c) << c.error().text();
  EXPECT_EQ(where(c->get()), root_ + "/a/c");
  auto g = open_in("/abs/b/file", sys::Create::kFile);
  ASSERT_TRUE(g) << g.error().text();
  EXPECT_EQ(where(g->get()), root_ + "/a/b/file");
}

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, InRoot, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Walk" : "Openat2"; });

}  // namespace
}  // namespace berth
