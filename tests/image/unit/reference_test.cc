#include "image/reference.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

std::string norm(std::string_view s) {
  auto r = parse_reference(s);
  return r ? r->str() : "error: " + r.error().message();
}

TEST(Reference, NormalizesLikeDocker) {
  EXPECT_EQ(norm("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(norm("library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("user/app:v2"), "docker.io/user/app:v2");
  EXPECT_EQ(norm("index.docker.io/user/app"), "docker.io/user/app:latest");
  EXPECT_EQ(norm("quay.io/ns/app:tag"), "quay.io/ns/app:tag");
  EXPECT_EQ(norm("host:5000/ns/sub/app:v1.0-rc_1"), "host:5000/ns/sub/app:v1.0-rc_1");
  EXPECT_EQ(norm("localhost/app"), "localhost/app:latest");
  EXPECT_EQ(norm("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
  EXPECT_EQ(norm("[::1]:5000/app:x"), "[::1]:5000/app:x");
  EXPECT_EQ(norm("ns/a.b_c__d-e---f"), "docker.io/ns/a.b_c__d-e---f:latest");
  EXPECT_EQ(norm("a.b/x").rfind("a.b/x:latest", 0), 0u);  // a dot: a registry
}

TEST(Reference, Digests) {
  std::string hex(64, 'a');
  auto r = parse_reference("busybox@sha256:" + hex);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest.hex(), hex);
  EXPECT_EQ(r->record_key(), "docker.io/library/busybox@sha256:" + hex);
  auto both = parse_reference("host:5000/app:v1@sha256:" + hex);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->tag, "v1");
  EXPECT_EQ(both->familiar(), "host:5000/app:v1@sha256:" + hex);
  EXPECT_FALSE(parse_reference("busybox@sha256:abc"));
  EXPECT_FALSE(parse_reference("busybox@md5:" + hex));
  EXPECT_FALSE(parse_reference("busybox@sha256:" + std::string(64, 'A')));
}

TEST(Reference, Rejects) {
  for (const char* bad : {"", "Busybox", "busybox:", ":tag", "a//b", "-a/b", "a-/b", "a/b:-x",
                          "host:99999/app", "a..b/c",
                          "app:"
                          "tag with space",
                          "/abs", "a/b/", "a@", "host:5000/"}) {
    EXPECT_FALSE(parse_reference(bad)) << bad;
  }
  EXPECT_FALSE(parse_reference("a:" + std::string(129, 'x')));
  EXPECT_FALSE(parse_reference(std::string(300, 'a')));
}

TEST(Reference, FamiliarAndDefaultRegistry) {
  EXPECT_EQ(parse_reference("busybox")->familiar(), "busybox:latest");
  EXPECT_EQ(parse_reference("user/app:v1")->familiar(), "user/app:v1");
  EXPECT_EQ(parse_reference("host:5000/app:v1")->familiar(), "host:5000/app:v1");
  auto r = parse_reference("app", "registry.example:5000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "registry.example:5000/app:latest");
  EXPECT_FALSE(parse_repository("app:tag"));
}

}  // namespace
}  // namespace berth::image
