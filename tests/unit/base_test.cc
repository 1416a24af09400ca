#include <gtest/gtest.h>
#include <sys/resource.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/huge_heap.h"
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

// populate_startup_pages() maps .data and .bss up front: writing to every page of a block in
// .bss afterwards takes no page faults (64 without it).
[[maybe_unused]] alignas(4096) char g_bss_block[64 * 4096];

TEST(StartupPages, DataAndBssAreMappedUpFront) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan maps its shadow, not the segments, on first use";
#else
  heap::populate_startup_pages(0);
  struct rusage before {
  }, after{};
  getrusage(RUSAGE_SELF, &before);
  volatile char* block = g_bss_block;  // writes the compiler must keep
  for (size_t i = 0; i < sizeof g_bss_block; i += 4096) block[i] = 1;
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_minflt - before.ru_minflt, 4);
#endif
}

// The heap after use_huge_pages() is backed by transparent huge pages: without it, in the
// kernel's "madvise" THP mode (the default on Debian), the same block is 4 KiB pages.
TEST(HugeHeap, LaterAllocationsLandOnHugePages) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan replaces malloc";
#else
  std::string mode = file::read("/sys/kernel/mm/transparent_hugepage/enabled").value_or("");
  if (mode.empty() || mode.find("[never]") != std::string::npos)
    GTEST_SKIP() << "transparent huge pages are off on this kernel";
  ASSERT_TRUE(heap::use_huge_pages(size_t{4} << 20));
  size_t len = size_t{3} << 20;
  auto* p = static_cast<char*>(std::malloc(len));
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < len; i += 4096) p[i] = 1;
  // The smaps entry of the mapping that holds p: its AnonHugePages line.
  auto addr = reinterpret_cast<uintptr_t>(p) + (size_t{2} << 20);
  std::string smaps = *file::read("/proc/self/smaps");
  long huge_kb = -1;
  bool inside = false;
  for (const std::string& line : split(smaps, '\n')) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's header
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && line.starts_with("AnonHugePages:")) huge_kb = std::atol(line.c_str() + 14);
  }
  std::free(p);
  EXPECT_GE(huge_kb, 2048) << "the heap block is not on huge pages";
#endif
}

}  // namespace
}  // namespace berth
