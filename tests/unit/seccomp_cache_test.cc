// The compiled-filter cache: keyed by every field of the profile that the compiler reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "runtime/seccomp.h"
#include "support/harness.h"

namespace berth::runtime {
namespace {

oci::Seccomp profile() {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = 1;
  s.architectures = {"SCMP_ARCH_X86_64"};
  s.syscalls.push_back({{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
  s.syscalls.push_back(
      {{"personality"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 8, 0, "SCMP_CMP_EQ"}}});
  return s;
}

std::string program(const SeccompBpf& b) {
  std::string out;
  char buf[4096];
  ssize_t n;
  off_t off = 0;
  while ((n = ::pread(b.fd.get(), buf, sizeof buf, off)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

TEST(SeccompCache, KeyCoversEveryFieldTheCompilerReads) {
  std::string base = seccomp_cache_key(profile());
  EXPECT_EQ(base, seccomp_cache_key(profile()));
  auto changed = [&](auto edit) {
    oci::Seccomp s = profile();
    edit(s);
    return seccomp_cache_key(s) != base;
  };
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.default_action = "SCMP_ACT_KILL"; }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.default_errno_ret = 38; }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.architectures.push_back("SCMP_ARCH_X86"); }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.flags.push_back("SECCOMP_FILTER_FLAG_LOG"); }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.syscalls[0].names[1] = "writev"; }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.syscalls[0].errno_ret = 1; }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.syscalls[1].args[0].value = 9; }));
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.syscalls[1].args[0].op = "SCMP_CMP_NE"; }));
  // No two field lists run together: ["ab"] and ["a", "b"] differ.
  EXPECT_TRUE(changed([](oci::Seccomp& s) { s.syscalls[0].names = {"readwrite"}; }));
}

TEST(SeccompCache, CachedProgramIsTheCompiledOne) {
  test::TempDir dir("berth-test-seccomp");
  auto direct = compile_seccomp(profile());
  ASSERT_TRUE(direct) << direct.error().text();
  auto first = compile_seccomp_cached(profile(), dir.path());
  ASSERT_TRUE(first) << first.error().text();
  auto again = compile_seccomp_cached(profile(), dir.path());
  ASSERT_TRUE(again) << again.error().text();
  EXPECT_EQ(program(*first), program(*direct));
  EXPECT_EQ(program(*again), program(*direct));
  auto files = [&] {
    return std::distance(std::filesystem::directory_iterator(dir.path()),
                         std::filesystem::directory_iterator{});
  };
  EXPECT_EQ(files(), 1);
  oci::Seccomp other = profile();
  other.syscalls[0].names.push_back("close");
  auto o = compile_seccomp_cached(other, dir.path());
  ASSERT_TRUE(o) << o.error().text();
  EXPECT_NE(program(*o), program(*direct));
  EXPECT_EQ(files(), 2);
}

}  // namespace
}  // namespace berth::runtime
