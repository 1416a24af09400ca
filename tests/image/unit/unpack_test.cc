// Layer application: whiteout conversion to overlayfs form, file types and metadata, and the
// digests the decompressing reader computes (blob digest and diff_id) for gzip, zstd, plain.
#include "image/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/blob_store.h"
#include "image/stream.h"
#include "image/support/image_support.h"

namespace berth::test {
namespace {

using image::Compression;

Result<image::UnpackStats> unpack_file(const std::string& tar, const std::string& dir,
                                       image::DecompressReader** keep = nullptr) {
  UniqueFd in(open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  image::FileReader fr(in.get());
  image::DecompressReader dr(fr);
  auto r = image::unpack_layer(dr, d.get());
  (void)keep;
  return r;
}

TEST(Unpack, WhiteoutsBecomeOverlayForm) {
  TempDir tmp("berth-test-unpack");
  std::string src = tmp.path() + "/src", out = tmp.path() + "/out";
  write_file(src + "/etc/.wh.passwd", "");
  write_file(src + "/var/.wh..wh..opq", "");
  write_file(src + "/var/new", "new\n");
  write_file(src + "/keep", "keep\n", 0640);
  mkdir(out.c_str(), 0755);
  BuiltLayer l = make_layer(src, Compression::kNone, tmp.path());
  auto st = unpack_file(l.path, out);
  ASSERT_TRUE(st) << st.error().text();
  EXPECT_EQ(st->whiteouts, 2);
  struct stat s {};
  ASSERT_EQ(lstat((out + "/etc/passwd").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
  EXPECT_EQ(s.st_rdev, makedev(0, 0));
  EXPECT_FALSE(file_exists(out + "/etc/.wh.passwd"));
  char v[4] = {};
  EXPECT_EQ(getxattr((out + "/var").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(file_exists(out + "/var/.wh..wh..opq"));
  EXPECT_EQ(read_file(out + "/var/new"), "new\n");
  ASSERT_EQ(stat((out + "/keep").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0640u);
}

TEST(Unpack, TypesOwnersModesTimesAndLinks) {
  TempDir tmp("berth-test-unpack");
  std::string src = tmp.path() + "/src", out = tmp.path() + "/out";
  write_file(src + "/dir/file", "data", 04755);
  chown((src + "/dir/file").c_str(), 123, 456);
  link((src + "/dir/file").c_str(), (src + "/dir/hard").c_str());
  symlink("file", (src + "/dir/sym").c_str());
  mkfifo((src + "/fifo").c_str(), 0600);
  mknod((src + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
  timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  utimensat(AT_FDCWD, (src + "/dir/file").c_str(), ts, 0);
  utimensat(AT_FDCWD, (src + "/dir").c_str(), ts, 0);
  mkdir(out.c_str(), 0755);
  auto st = unpack_file(make_layer(src, Compression::kGzip, tmp.path()).path, out);
  ASSERT_TRUE(st) << st.error().text();
  EXPECT_TRUE(compare_trees(src, out).empty()) << compare_trees(src, out).front();
  struct stat a {
  }, b{};
  stat((out + "/dir/file").c_str(), &a);
  stat((out + "/dir/hard").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mtime, 1000000000);
  stat((out + "/dir").c_str(), &a);
  EXPECT_EQ(a.st_mtime, 1000000000) << "directory times are set after their children";
}

TEST(Decompress, DigestsForEveryCompression) {
  TempDir tmp("berth-test-unpack");
  std::string src = tmp.path() + "/src";
  write_file(src + "/f", random_bytes(100000, 3));
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    BuiltLayer l = make_layer(src, c, tmp.path());
    std::string out = tmp.path() + "/out" + std::string(image::compression_name(c));
    mkdir(out.c_str(), 0755);
    UniqueFd in(open(l.path.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd d(open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    image::FileReader fr(in.get());
    image::DecompressReader dr(fr);
    ASSERT_TRUE(image::unpack_layer(dr, d.get()));
    ASSERT_TRUE(dr.drain());
    EXPECT_EQ(dr.compression(), c);
    EXPECT_EQ(dr.compressed_digest(), l.digest);
    EXPECT_EQ(dr.uncompressed_digest(), l.diff_id);
    EXPECT_EQ(read_file(out + "/f"), read_file(src + "/f"));
  }
}

TEST(Decompress, TruncatedAndCorruptStreamsFail) {
  TempDir tmp("berth-test-unpack");
  std::string src = tmp.path() + "/src";
  write_file(src + "/f", random_bytes(200000, 4));
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    BuiltLayer l = make_layer(src, c, tmp.path());
    std::string data = read_file(l.path);
    std::string truncated = data.substr(0, data.size() / 2);
    image::StringReader sr(truncated);
    image::DecompressReader dr(sr);
    std::string sink(1 << 16, '\0');
    Result<size_t> r = size_t{1};
    while (r && *r > 0) r = dr.read(sink.data(), sink.size());
    EXPECT_FALSE(r) << "truncated " << image::compression_name(c) << " accepted";
    std::string corrupt = data;
    for (size_t i = 100; i < 200; ++i) corrupt[i] ^= 0x5a;
    image::StringReader cr(corrupt);
    image::DecompressReader dc(cr);
    r = size_t{1};
    while (r && *r > 0) r = dc.read(sink.data(), sink.size());
    EXPECT_FALSE(r) << "corrupt " << image::compression_name(c) << " accepted";
  }
}

TEST(BlobWriter, VerifiesAndResumes) {
  TempDir tmp("berth-test-blobs");
  mkdir((tmp.path() + "/blobs").c_str(), 0755);
  mkdir((tmp.path() + "/blobs/sha256").c_str(), 0755);
  mkdir((tmp.path() + "/ingest").c_str(), 0755);
  image::BlobStore store(tmp.path());
  std::string data = random_bytes(50000, 5);
  image::Digest want = image::sha256_of(data);
  {
    auto w = image::BlobWriter::open(store, want);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(data.data(), 20000));
  }  // interrupted: the partial file stays
  auto w = image::BlobWriter::open(store, want);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->offset(), 20000);
  ASSERT_TRUE(w->write(data.data() + 20000, data.size() - 20000));
  auto got = w->commit();
  ASSERT_TRUE(got) << got.error().text();
  EXPECT_EQ(*got, want);
  EXPECT_TRUE(store.verify(want));
  EXPECT_EQ(*store.read(want), data);

  image::Digest other = image::sha256_of("other");
  auto bad = image::BlobWriter::open(store, other);
  ASSERT_TRUE(bad);
  ASSERT_TRUE(bad->write("not other", 9));
  auto r = bad->commit();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(store.has(other));
  EXPECT_FALSE(file_exists(tmp.path() + "/ingest/" + other.hex() + ".partial"));
  // A blob file whose content does not match its name is caught.
  write_file(store.path(other), "tampered");
  EXPECT_FALSE(store.verify(other));
  EXPECT_FALSE(store.read(other));
}

}  // namespace
}  // namespace berth::test
