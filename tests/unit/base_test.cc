#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/path.h"
#include "base/result.h"
#include "base/strings.h"
#include "support/harness.h"

namespace berth {
namespace {

TEST(Path, Clean) {
  EXPECT_EQ(path::clean("/a//b/./c/.."), "/a/b");
  EXPECT_EQ(path::clean("/../../x"), "/x");
  EXPECT_EQ(path::clean("a/../../b"), "../b");
  EXPECT_EQ(path::clean(""), ".");
  EXPECT_EQ(path::clean("/"), "/");
}

TEST(Path, JoinDirnameBasenameWithin) {
  EXPECT_EQ(path::join("/a", "/b"), "/a/b");
  EXPECT_EQ(path::join("/a/", "b"), "/a/b");
  EXPECT_EQ(path::dirname("/a/b"), "/a");
  EXPECT_EQ(path::dirname("/a"), "/");
  EXPECT_EQ(path::basename("/a/b/"), "b");
  EXPECT_TRUE(path::is_within("/a", "/a/b"));
  EXPECT_TRUE(path::is_within("/a", "/a"));
  EXPECT_FALSE(path::is_within("/a", "/ab"));
  EXPECT_TRUE(path::is_within("/", "/x"));
}

TEST(Strings, SplitJoinTrimQuote) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(join({"a", "b"}, "-"), "a-b");
  EXPECT_EQ(trim("  x \n"), "x");
  EXPECT_EQ(json_quote("a\"b\n\x01"), "\"a\\\"b\\n\\u0001\"");
  EXPECT_EQ(parse_int("-5"), -5);
  EXPECT_FALSE(parse_int("5x"));
  EXPECT_FALSE(parse_uint(""));
}

Result<int> half(int v) {
  if (v % 2) return fail(invalid("{} is odd", v));
  return v / 2;
}

Result<int> quarter(int v) {
  int h = BERTH_TRY(half(v));
  return BERTH_TRY(half(h));
}

TEST(Result, TryPropagatesErrorsWithContext) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  Error e = sys_error(ENOENT, "open {}", "/x");
  e.wrap("load");
  EXPECT_EQ(e.text(), "load: open /x: No such file or directory");
}

TEST(File, AtomicWriteReplacesWholeFiles) {
  test::TempDir d;
  std::string p = d.path() + "/f";
  ASSERT_TRUE(file::write_atomic(p, "one"));
  ASSERT_TRUE(file::write_atomic(p, "two"));
  EXPECT_EQ(*file::read(p), "two");
  EXPECT_EQ(test::sh("ls -A " + d.path()).out, "f\n") << "no temp files left";
  ASSERT_TRUE(file::mkdir_all(d.path() + "/x/y/z"));
  EXPECT_TRUE(file::exists(d.path() + "/x/y/z"));
  EXPECT_FALSE(file::mkdir_all(p + "/sub"));
  ASSERT_TRUE(file::remove_all(d.path() + "/x"));
  EXPECT_FALSE(file::exists(d.path() + "/x"));
  EXPECT_EQ(file::read(d.path() + "/missing").error().kind(), ErrorKind::kNotFound);
}

TEST(Clock, Rfc3339InUtc) {
  EXPECT_EQ(clock::rfc3339_seconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(clock::rfc3339_seconds(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(clock::rfc3339_seconds(4102444799), "2099-12-31T23:59:59Z");
  EXPECT_EQ(clock::rfc3339_nano(1795405754000000007), "2026-11-23T03:49:14.000000007Z");
  std::string now = clock::now_rfc3339_nano();
  EXPECT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace berth
