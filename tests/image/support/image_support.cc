#include "image/support/image_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>

#include "base/file.h"
#include "image/blob_store.h"

namespace berth::test {

image::Digest file_digest(const std::string& path) {
  image::Sha256 h;
  std::ifstream in(path, std::ios::binary);
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return h.finish();
}

void write_file(const std::string& path, const std::string& data, int mode) {
  (void)file::mkdir_all(path.substr(0, path.rfind('/')));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

BuiltLayer make_layer(const std::string& dir, image::Compression c, const std::string& out_dir) {
  static int n = 0;
  std::string tar = out_dir + "/layer" + std::to_string(n++) + ".tar";
  CmdResult r =
      run({"tar", "--numeric-owner", "--sort=name", "--format=posix", "-C", dir, "-cf", tar, "."});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  BuiltLayer l;
  l.diff_id = file_digest(tar);
  l.path = tar;
  if (c == image::Compression::kGzip) {
    r = sh("gzip -n -1 -c " + tar + " > " + tar + ".gz");
    l.path = tar + ".gz";
    l.media_type = std::string(image::media::kOciLayerGzip);
  } else if (c == image::Compression::kZstd) {
    r = sh("zstd -q -1 -c " + tar + " > " + tar + ".zst");
    l.path = tar + ".zst";
    l.media_type = std::string(image::media::kOciLayerZstd);
  } else {
    l.media_type = std::string(image::media::kOciLayer);
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  l.digest = file_digest(l.path);
  struct stat st {};
  stat(l.path.c_str(), &st);
  l.size = st.st_size;
  return l;
}

std::string make_oci_archive(const std::vector<BuiltLayer>& layers, const std::string& name,
                             const std::string& out_dir, image::ImageConfig cfg) {
  static int n = 0;
  std::string layout = out_dir + "/layout" + std::to_string(n);
  std::string blobs = layout + "/blobs/sha256";
  (void)file::mkdir_all(blobs);
  cfg.os = "linux";
  cfg.architecture = "amd64";
  if (cfg.cmd.empty()) cfg.cmd = {"/bin/sh"};
  image::Manifest m;
  m.media_type = std::string(image::media::kOciManifest);
  for (const auto& l : layers) {
    cfg.diff_ids.push_back(l.diff_id);
    cfg.history.push_back({"", "layer " + l.diff_id.short_id(), "", "", false});
    run({"cp", l.path, blobs + "/" + l.digest.hex()});
    m.layers.push_back({l.media_type, l.digest, l.size, {}, {}, std::nullopt});
  }
  std::string cfg_text = image::image_config_json(cfg);
  m.config = {std::string(image::media::kOciConfig),
              image::sha256_of(cfg_text),
              static_cast<int64_t>(cfg_text.size()),
              {},
              {},
              std::nullopt};
  write_file(blobs + "/" + m.config.digest.hex(), cfg_text);
  std::string mtext = image::manifest_json(m);
  image::Digest md = image::sha256_of(mtext);
  write_file(blobs + "/" + md.hex(), mtext);
  image::Index idx;
  image::Descriptor d{std::string(image::media::kOciManifest),
                      md,
                      static_cast<int64_t>(mtext.size()),
                      {},
                      {},
                      std::nullopt};
  if (!name.empty()) d.annotations["org.opencontainers.image.ref.name"] = name;
  idx.manifests.push_back(d);
  write_file(layout + "/index.json", image::index_json(idx));
  write_file(layout + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  std::string out = out_dir + "/image" + std::to_string(n++) + ".oci.tar";
  CmdResult r = run({"tar", "-C", layout, "-cf", out, "."});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

namespace {

void walk(const std::string& root, const std::string& rel,
          std::map<std::string, struct stat>& out) {
  DIR* d = opendir((root + rel).c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  for (const auto& n : names) {
    std::string r = rel + "/" + n;
    struct stat st {};
    if (lstat((root + r).c_str(), &st) != 0) continue;
    out[r] = st;
    if (S_ISDIR(st.st_mode)) walk(root, r, out);
  }
}

}  // namespace

std::vector<std::string> compare_trees(const std::string& a, const std::string& b) {
  std::map<std::string, struct stat> ta, tb;
  walk(a, "", ta);
  walk(b, "", tb);
  std::vector<std::string> diffs;
  for (const auto& [p, sa] : ta) {
    auto it = tb.find(p);
    if (it == tb.end()) {
      diffs.push_back("only in first: " + p);
      continue;
    }
    const struct stat& sb = it->second;
    if (sa.st_mode != sb.st_mode)
      diffs.push_back(fmt::format("{}: mode {:o} vs {:o}", p, sa.st_mode, sb.st_mode));
    if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
      diffs.push_back(
          fmt::format("{}: owner {}:{} vs {}:{}", p, sa.st_uid, sa.st_gid, sb.st_uid, sb.st_gid));
    if (S_ISREG(sa.st_mode) && read_file(a + p) != read_file(b + p))
      diffs.push_back(p + ": content differs");
    if (S_ISLNK(sa.st_mode)) {
      char x[4096], y[4096];
      ssize_t nx = readlink((a + p).c_str(), x, sizeof x);
      ssize_t ny = readlink((b + p).c_str(), y, sizeof y);
      if (std::string(x, std::max<ssize_t>(nx, 0)) != std::string(y, std::max<ssize_t>(ny, 0)))
        diffs.push_back(p + ": link target differs");
    }
    if ((S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) && sa.st_rdev != sb.st_rdev)
      diffs.push_back(p + ": device differs");
  }
  for (const auto& [p, sb] : tb)
    if (!ta.count(p)) diffs.push_back("only in second: " + p);
  return diffs;
}

CmdResult berth(const std::string& root, const std::vector<std::string>& args,
                const std::string& input, int timeout_s) {
#ifdef BERTH_CLI_BIN
  std::vector<std::string> argv = {BERTH_CLI_BIN, "--root", root};
#else
  std::vector<std::string> argv = {"berth", "--root", root};
#endif
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input, timeout_s);
}

}  // namespace berth::test
