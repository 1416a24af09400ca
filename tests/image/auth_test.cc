// Registry authentication: htpasswd (basic) and the bearer-token flow (a token server in the
// test signs JWTs the registry verifies), berth login / logout and the 0600 credentials file.
#include <sys/stat.h>

#include "base/strings.h"
#include "image/support/image_support.h"
#include "image/support/registry_fixture.h"

namespace berth::test {
namespace {

void auth_round_trip(Registry::Auth auth) {
  TempDir tmp("berth-test-auth");
  Registry reg(auth, "alice", "s3cret");
  ASSERT_TRUE(reg.ok()) << reg.log();
  std::string name = reg.host() + "/private/app:v1";
  std::string l1 = tmp.path() + "/l1";
  write_file(l1 + "/hello", "hello\n");
  std::string archive =
      make_oci_archive({make_layer(l1, image::Compression::kGzip, tmp.path())}, name, tmp.path());
  std::string a = tmp.path() + "/a", b = tmp.path() + "/b";
  ASSERT_EQ(berth(a, {"load", "-i", archive}).exit_code, 0);

  CmdResult anon = berth(a, {"push", name});
  EXPECT_EQ(anon.exit_code, 125);
  EXPECT_TRUE(anon.err.find("login") != std::string::npos ||
              anon.err.find("401") != std::string::npos ||
              anon.err.find("denied") != std::string::npos)
      << anon.err;

  CmdResult bad = berth(a, {"login", "-u", "alice", "--password-stdin", reg.host()}, "wrong\n");
  EXPECT_EQ(bad.exit_code, 125) << bad.out << bad.err;
  EXPECT_FALSE(file_exists(a + "/auth.json"));

  CmdResult good = berth(a, {"login", "-u", "alice", "--password-stdin", reg.host()}, "s3cret\n");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  struct stat st {};
  ASSERT_EQ(stat((a + "/auth.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(a + "/auth.json").find("s3cret"), std::string::npos) << "stored in clear";

  CmdResult pushed = berth(a, {"push", name});
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;

  EXPECT_EQ(berth(b, {"pull", name}).exit_code, 125) << "pulled without credentials";
  ASSERT_EQ(berth(b, {"login", "-u", "alice", "-p", "s3cret", reg.host()}).exit_code, 0);
  CmdResult pulled = berth(b, {"pull", name});
  EXPECT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(std::string(trim(pulled.out)), std::string(trim(pushed.out)));

  CmdResult out = berth(b, {"logout", reg.host()});
  EXPECT_NE(out.out.find("Removed"), std::string::npos) << out.out;
  EXPECT_EQ(
      berth(b, {"pull", reg.host() + "/private/app@" + std::string(trim(pushed.out))}).exit_code,
      125);
}

TEST(AuthTest, HtpasswdBasicAuth) { auth_round_trip(Registry::Auth::kHtpasswd); }
TEST(AuthTest, BearerTokenFlow) { auth_round_trip(Registry::Auth::kToken); }

}  // namespace
}  // namespace berth::test
