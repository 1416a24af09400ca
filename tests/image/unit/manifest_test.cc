#include "image/manifest.h"

#include <gtest/gtest.h>

#include "image/image_config.h"

namespace berth::image {
namespace {

const std::string kHex(64, 'b');
const std::string kDigest = "sha256:" + kHex;

std::string manifest_with(const std::string& layers) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kDigest + R"(","size":10},"layers":)" + layers + "}";
}

std::string error_of(const Result<Manifest>& r) { return r ? "" : r.error().message(); }

TEST(Manifest, ParsesOciAndDocker) {
  auto m = parse_manifest(
      manifest_with(R"([{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
                    kDigest + R"(","size":5,"annotations":{"a":"b"}}])"));
  ASSERT_TRUE(m) << m.error().text();
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 5);
  EXPECT_EQ(m->layers[0].annotations.at("a"), "b");
  EXPECT_EQ(layer_compression(m->layers[0].media_type).value(), Compression::kZstd);
  EXPECT_EQ(layer_compression(media::kDockerLayerGzip).value(), Compression::kGzip);
  EXPECT_EQ(layer_compression(media::kDockerLayer).value(), Compression::kNone);
  EXPECT_FALSE(layer_compression("application/vnd.in-toto+json"));
  // Round trip through our serializer.
  auto again = parse_manifest(manifest_json(*m));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->layers[0].digest, m->layers[0].digest);
}

TEST(Manifest, ErrorsNameTheField) {
  EXPECT_NE(error_of(parse_manifest(manifest_with(R"([{"mediaType":"x","digest":"sha256:12",)"
                                                  R"("size":1}])")))
                .find("layers[0].digest"),
            std::string::npos);
  EXPECT_NE(error_of(parse_manifest(manifest_with(R"([{"mediaType":"x","digest":")" + kDigest +
                                                  R"(","size":-1}])")))
                .find("layers[0].size"),
            std::string::npos);
  EXPECT_NE(error_of(parse_manifest(manifest_with(R"([{"digest":")" + kDigest + R"(","size":1}])")))
                .find("layers[0].mediaType"),
            std::string::npos);
  EXPECT_NE(error_of(parse_manifest(R"({"schemaVersion":1,"config":{}})")).find("schemaVersion"),
            std::string::npos);
  EXPECT_NE(error_of(parse_manifest(R"({"schemaVersion":2})")).find("config"), std::string::npos);
  EXPECT_NE(error_of(parse_manifest(manifest_with("{}"))).find("layers"), std::string::npos);
  EXPECT_NE(error_of(parse_manifest("[1,2")).find("not valid JSON"), std::string::npos);
  auto wrong_type = parse_manifest(R"({"schemaVersion":2,"mediaType":")" +
                                   std::string(media::kOciIndex) + R"(","config":{}})");
  EXPECT_NE(error_of(wrong_type).find("mediaType"), std::string::npos);
}

TEST(Index, ChoosesPlatform) {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2'),
              d3 = "sha256:" + std::string(64, '3');
  std::string text = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerList) +
                     R"(","manifests":[
    {"mediaType":"m","digest":")" +
                     d1 +
                     R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"m","digest":")" +
                     d2 + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"m","digest":")" +
                     d3 + R"(","size":1,"platform":{"os":"windows","architecture":"amd64"}}]})";
  auto idx = parse_index(text);
  ASSERT_TRUE(idx) << idx.error().text();
  EXPECT_EQ(choose_platform(*idx, *parse_platform("linux/amd64"))->digest.str(), d2);
  EXPECT_EQ(choose_platform(*idx, *parse_platform("linux/arm64/v8"))->digest.str(), d1);
  EXPECT_EQ(choose_platform(*idx, *parse_platform("arm64"))->digest.str(), d1);
  auto none = choose_platform(*idx, *parse_platform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("linux/arm64/v8"), std::string::npos);
  EXPECT_FALSE(parse_platform("a/b/c/d"));
  EXPECT_FALSE(parse_index(R"({"schemaVersion":2})"));
  auto bad = parse_index(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":")" + d1 +
                         R"(","size":1,"platform":{"os":"linux"}}]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("manifests[0].platform.architecture"), std::string::npos);
  EXPECT_EQ(detect_media_type(R"({"manifests":[]})"), media::kOciIndex);
}

TEST(ImageConfig, ParsesAndBecomesRunDefaults) {
  auto c = parse_image_config(R"({"architecture":"amd64","os":"linux","config":{
    "User":"1000:1000","Env":["A=1"],"Entrypoint":["/entry"],"Cmd":["run","--x"],
    "WorkingDir":"/w","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},
    "StopSignal":"SIGINT","Labels":{"l":"v"}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                              kDigest + R"("]},
    "history":[{"created_by":"x","empty_layer":true}]})");
  ASSERT_TRUE(c) << c.error().text();
  RunDefaults d = run_defaults(*c);
  EXPECT_EQ(d.args, (std::vector<std::string>{"/entry", "run", "--x"}));
  EXPECT_EQ(d.env.size(), 2u);  // PATH added
  EXPECT_EQ(d.cwd, "/w");
  EXPECT_EQ(d.exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(d.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(d.stop_signal, "SIGINT");
  EXPECT_EQ(run_defaults(*c, {"sh"}).args, (std::vector<std::string>{"/entry", "sh"}));
  EXPECT_EQ(run_defaults(*c, {}, std::vector<std::string>{"/bin/true"}).args,
            std::vector<std::string>{"/bin/true"});
  auto bad = parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":["sha256:zz"]}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("rootfs.diff_ids[0]"), std::string::npos);
  auto bad2 = parse_image_config(R"({"config":{"Cmd":"not-a-list"}})");
  ASSERT_FALSE(bad2);
  EXPECT_NE(bad2.error().message().find("config.Cmd"), std::string::npos);
}

TEST(Digest, ParseAndVerify) {
  EXPECT_TRUE(Digest::parse(kDigest));
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(Digest::parse("sha512:" + kHex));
  EXPECT_FALSE(Digest::parse(kHex));
  EXPECT_EQ(sha256_of("").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(verify_digest(sha256_of("x"), sha256_of("x"), "x"));
  auto bad = verify_digest(sha256_of("x"), sha256_of("y"), "blob");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("digest mismatch"), std::string::npos);
}

}  // namespace
}  // namespace berth::image
