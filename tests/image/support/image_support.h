// Test support for images: layers and OCI archives built from directories with tar, gzip and
// zstd; file tree comparison; running the berth CLI with a private store.
#pragma once

#include <string>
#include <vector>

#include "image/digest.h"
#include "image/image_config.h"
#include "image/manifest.h"
#include "support/harness.h"

namespace berth::test {

struct BuiltLayer {
  std::string path;  // the (compressed) tar
  image::Digest digest, diff_id;
  int64_t size = 0;
  std::string media_type;
};

// tar of dir's contents (numeric owners, sorted), compressed as asked.
BuiltLayer make_layer(const std::string& dir, image::Compression c, const std::string& out_dir);
// An OCI layout with these layers (base first) tarred into an oci-archive; name is put in the
// index's ref.name annotation. Returns the archive's path.
std::string make_oci_archive(const std::vector<BuiltLayer>& layers, const std::string& name,
                             const std::string& out_dir, image::ImageConfig cfg = {});

image::Digest file_digest(const std::string& path);
// Differences between two trees (type, mode, owner, content, link target, device numbers);
// empty when they are the same.
std::vector<std::string> compare_trees(const std::string& a, const std::string& b);

// berth with --root root.
CmdResult berth(const std::string& root, const std::vector<std::string>& args,
                const std::string& input = "", int timeout_s = 120);

void write_file(const std::string& path, const std::string& data, int mode = 0644);
std::string random_bytes(size_t n, unsigned seed);

}  // namespace berth::test
