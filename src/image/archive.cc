#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "base/clock.h"
#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "image/fs_util.h"
#include "image/json_util.h"
#include "image/stream.h"
#include "image/unpack.h"
#include "oci/json_read.h"

namespace berth::image {
namespace {

// libarchive's message for its last error (it may have none).
const char* archive_error(struct archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unreadable archive data";
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

constexpr int64_t kMaxMeta = 16 << 20;
const std::set<std::string> kMetaFiles = {"manifest.json", "index.json", "oci-layout",
                                          "repositories"};

// Unpacks blob (already in the store) as a layer unless present; returns its diff_id.
Result<Digest> unpack_blob(Store& store, const Digest& blob, const std::optional<Digest>& want) {
  if (want && BERTH_TRY(store.has_layer(*want))) return *want;
  std::string staging = BERTH_TRY(store.make_staging_dir());
  auto done = [&](Result<void> r) -> Result<void> {
    if (!r) (void)remove_at(AT_FDCWD, staging);
    return r;
  };
  UniqueFd in(::open(store.blobs().path(blob).c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return fail(sys_error(errno, "open blob {}", blob.str()));
  UniqueFd dir(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  FileReader fr(in.get());
  DecompressReader dr(fr);
  auto st = unpack_layer(dr, dir.get());
  if (!st) {
    BERTH_CHECK(done(fail(std::move(st.error()))));
  }
  BERTH_CHECK(done(dr.drain()));
  Digest diff_id = dr.uncompressed_digest();
  BERTH_CHECK(done(verify_digest(blob, dr.compressed_digest(), "layer blob")));
  if (want) BERTH_CHECK(done(verify_digest(*want, diff_id, "layer diff_id")));
  BERTH_CHECK(store.commit_layer(staging, diff_id, st->bytes));
  return diff_id;
}

struct ReadArchive {
  std::map<std::string, std::string> meta;  // small metadata files by name
  std::map<std::string, Digest> blobs;      // other regular files, stored as blobs
};

Result<ReadArchive> read_archive(Store& store, const std::string& path) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
    return fail(invalid("archive {}: {}", path, archive_error(a.get())));
  ReadArchive out;
  std::map<std::string, std::string> links;  // symlink/hardlink name -> target name
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return fail(invalid("archive {}: {}", path, archive_error(a.get())));
    std::string name = BERTH_TRY(clean_entry_name(archive_entry_pathname(e)));
    if (const char* hl = archive_entry_hardlink(e)) {
      links[name] = BERTH_TRY(clean_entry_name(hl));
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
      std::string dir = ::berth::path::dirname("/" + name);
      links[name] =
          BERTH_TRY(clean_entry_name(::berth::path::clean(::berth::path::join(dir, target))));
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    if (kMetaFiles.count(name)) {
      if (archive_entry_size(e) > kMaxMeta) return fail(invalid("{}: {} too large", path, name));
      std::string text(static_cast<size_t>(archive_entry_size(e)), '\0');
      la_ssize_t n = archive_read_data(a.get(), text.data(), text.size());
      if (n < 0) return fail(invalid("archive {}: {}", path, archive_error(a.get())));
      text.resize(static_cast<size_t>(n));
      out.meta[name] = std::move(text);
      continue;
    }
    BlobWriter w = BERTH_TRY(BlobWriter::open_new(store.blobs()));
    char buf[1 << 16];
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) return fail(invalid("archive {}: {}", path, archive_error(a.get())));
      if (n == 0) break;
      BERTH_CHECK(w.write(buf, static_cast<size_t>(n)));
    }
    out.blobs[name] = BERTH_TRY(w.commit());
  }
  for (const auto& [name, target] : links) {
    auto it = out.blobs.find(target);
    if (it != out.blobs.end()) out.blobs[name] = it->second;
  }
  return out;
}

Result<Digest> archive_blob(const ReadArchive& ar, const std::string& name) {
  auto it = ar.blobs.find(BERTH_TRY(clean_entry_name(name)));
  if (it == ar.blobs.end()) return fail(invalid("archive: {:?} is missing", name));
  return it->second;
}

// Records one image whose manifest blob is in the store: its layers are unpacked first.
Result<ImageRecord> record_loaded(Store& store, const Digest& manifest,
                                  const std::vector<std::string>& names) {
  Manifest m = BERTH_TRY(parse_manifest(BERTH_TRY(store.blobs().read(manifest))));
  ImageConfig cfg = BERTH_TRY(parse_image_config(BERTH_TRY(store.blobs().read(m.config.digest))));
  if (cfg.diff_ids.size() != m.layers.size())
    return fail(invalid("image {}: {} layers but {} diff_ids", manifest.short_id(), m.layers.size(),
                        cfg.diff_ids.size()));
  for (size_t i = 0; i < m.layers.size(); ++i) {
    if (!store.blobs().has(m.layers[i].digest))
      return fail(invalid("image {}: layer blob {} is missing", manifest.short_id(),
                          m.layers[i].digest.str()));
    BERTH_TRY(unpack_blob(store, m.layers[i].digest, cfg.diff_ids[i]));
  }
  return store.record_image(manifest, names);
}

Result<std::vector<ImageRecord>> load_oci(Store& store, const ReadArchive& ar) {
  Index idx = BERTH_TRY(parse_index(ar.meta.at("index.json")));
  for (const auto& [name, d] : ar.blobs) {
    if (name.rfind("blobs/sha256/", 0) == 0 && name.substr(13) != d.hex())
      return fail(invalid("oci archive: {} holds content with digest {}", name, d.str()));
  }
  std::vector<ImageRecord> out;
  for (const auto& desc : idx.manifests) {
    Digest md = desc.digest;
    if (is_index_type(desc.media_type)) {
      Index inner = BERTH_TRY(parse_index(BERTH_TRY(store.blobs().read(md))));
      md = BERTH_TRY(choose_platform(inner, host_platform())).digest;
    }
    std::vector<std::string> names;
    auto it = desc.annotations.find("org.opencontainers.image.ref.name");
    if (it != desc.annotations.end() && !it->second.empty()) {
      // Either a full reference or just a tag (skopeo's oci-archive:path:tag).
      auto r = parse_reference(it->second, store.options().default_registry);
      if (r) names.push_back(r->record_key());
    }
    out.push_back(BERTH_TRY(record_loaded(store, md, names)));
  }
  return out;
}

Result<std::vector<ImageRecord>> load_docker(Store& store, const ReadArchive& ar) {
  const std::string& text = ar.meta.at("manifest.json");
  nlohmann::json j = ::berth::image::parse_json(text);
  if (j.is_discarded() || !j.is_array())
    return fail(invalid("docker archive: manifest.json is not a JSON array"));
  std::vector<ImageRecord> out;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = fmt::format("manifest.json[{}]", i);
    const auto& e = j[i];
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() ||
        !e.contains("Layers") || !e["Layers"].is_array())
      return fail(invalid("docker archive: {}: expected Config and Layers", where));
    Manifest m;
    m.media_type = std::string(media::kDockerManifest);
    m.config.media_type = std::string(media::kDockerConfig);
    m.config.digest = BERTH_TRY(archive_blob(ar, e["Config"].get<std::string>()));
    m.config.size = BERTH_TRY(store.blobs().size(m.config.digest));
    for (const auto& l : e["Layers"]) {
      if (!l.is_string())
        return fail(invalid("docker archive: {}.Layers: expected strings", where));
      Descriptor d;
      d.digest = BERTH_TRY(archive_blob(ar, l.get<std::string>()));
      d.size = BERTH_TRY(store.blobs().size(d.digest));
      // Layers are usually plain tars; some tools write them compressed.
      UniqueFd fd(::open(store.blobs().path(d.digest).c_str(), O_RDONLY | O_CLOEXEC));
      unsigned char magic[2] = {0, 0};
      if (fd) (void)!::read(fd.get(), magic, 2);
      d.media_type = std::string(magic[0] == 0x1f && magic[1] == 0x8b ? media::kDockerLayerGzip
                                                                      : media::kDockerLayer);
      m.layers.push_back(std::move(d));
    }
    std::vector<std::string> names;
    if (e.contains("RepoTags") && e["RepoTags"].is_array()) {
      for (const auto& t : e["RepoTags"]) {
        if (!t.is_string()) continue;
        auto r = parse_reference(t.get<std::string>(), store.options().default_registry);
        if (r) names.push_back(r->record_key());
      }
    }
    Digest md = BERTH_TRY(store.blobs().put(manifest_json(m)));
    out.push_back(BERTH_TRY(record_loaded(store, md, names)));
  }
  return out;
}

}  // namespace

Result<std::vector<ImageRecord>> load_archive(Store& store, const std::string& path) {
  StoreLock held = BERTH_TRY(store.lock(false));
  ReadArchive ar = BERTH_TRY(read_archive(store, path));
  if (ar.meta.count("index.json")) return load_oci(store, ar);
  if (ar.meta.count("manifest.json")) return load_docker(store, ar);
  return fail(
      invalid("{}: neither an OCI layout (index.json) nor a docker archive "
              "(manifest.json)",
              path));
}

namespace {

Result<void> write_entry(struct archive* a, const std::string& name, int64_t size,
                         const std::function<Result<void>(struct archive*)>& body) {
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, size);
  archive_entry_set_mtime(e, time(nullptr), 0);
  int rc = archive_write_header(a, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return fail(invalid("write {}: {}", name, archive_error(a)));
  return body(a);
}

Result<void> write_text(struct archive* a, const std::string& name, const std::string& text) {
  return write_entry(a, name, static_cast<int64_t>(text.size()),
                     [&](struct archive* w) -> Result<void> {
                       if (archive_write_data(w, text.data(), text.size()) < 0)
                         return fail(invalid("write {}: {}", name, archive_error(w)));
                       return {};
                     });
}

Result<void> write_blob(struct archive* a, Store& store, const std::string& name, const Digest& d) {
  int64_t size = BERTH_TRY(store.blobs().size(d));
  UniqueFd fd(::open(store.blobs().path(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open blob {}", d.str()));
  return write_entry(a, name, size, [&](struct archive* w) -> Result<void> {
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) return fail(sys_error(errno, "read blob {}", d.str()));
      if (n == 0) return {};
      if (archive_write_data(w, buf.data(), static_cast<size_t>(n)) < 0)
        return fail(invalid("write {}: {}", name, archive_error(w)));
    }
  });
}

}  // namespace

Result<void> save_archive(Store& store, const std::vector<std::string>& refs, ArchiveFormat format,
                          const std::string& path) {
  std::vector<std::pair<ImageRecord, std::string>> imgs;  // with the name asked for
  for (const auto& r : refs) {
    ImageRecord img = BERTH_TRY(store.resolve(r));
    auto ref = parse_reference(r, store.options().default_registry);
    std::string name;
    if (ref && !ref->tag.empty())
      for (const auto& n : img.names) name = n == ref->record_key() ? ref->familiar() : name;
    imgs.emplace_back(std::move(img), name);
  }
  std::string tmp = path + ".tmp";
  ArchivePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK)
    return fail(invalid("create {}: {}", tmp, archive_error(a.get())));
  std::set<std::string> written;
  auto blob = [&](const std::string& name, const Digest& d) -> Result<void> {
    if (!written.insert(name).second) return {};
    return write_blob(a.get(), store, name, d);
  };
  if (format == ArchiveFormat::kOciArchive) {
    BERTH_CHECK(write_text(a.get(), "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
    Index idx;
    for (const auto& [img, name] : imgs) {
      BERTH_CHECK(blob("blobs/sha256/" + img.manifest.hex(), img.manifest));
      BERTH_CHECK(blob("blobs/sha256/" + img.config.hex(), img.config));
      for (const auto& l : img.layers) BERTH_CHECK(blob("blobs/sha256/" + l.blob.hex(), l.blob));
      Descriptor d;
      d.media_type = img.media_type;
      d.digest = img.manifest;
      d.size = BERTH_TRY(store.blobs().size(img.manifest));
      if (!name.empty()) d.annotations["org.opencontainers.image.ref.name"] = name;
      idx.manifests.push_back(std::move(d));
    }
    BERTH_CHECK(write_text(a.get(), "index.json", index_json(idx)));
  } else {
    nlohmann::json manifest = nlohmann::json::array();
    for (const auto& [img, name] : imgs) {
      nlohmann::json e;
      e["Config"] = img.config.hex() + ".json";
      BERTH_CHECK(blob(img.config.hex() + ".json", img.config));
      e["RepoTags"] = nlohmann::json::array();
      if (!name.empty()) e["RepoTags"].push_back(name);
      e["Layers"] = nlohmann::json::array();
      for (const auto& l : img.layers) {
        BERTH_CHECK(blob(l.blob.hex() + ".tar", l.blob));
        e["Layers"].push_back(l.blob.hex() + ".tar");
      }
      manifest.push_back(e);
    }
    BERTH_CHECK(write_text(a.get(), "manifest.json", manifest.dump()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(invalid("write {}: {}", tmp, archive_error(a.get())));
  if (rename(tmp.c_str(), path.c_str()) != 0)
    return fail(sys_error(errno, "rename {} to {}", tmp, path));
  return {};
}

Result<void> apply_change(ImageConfig& c, std::string_view change) {
  std::string_view s = trim(change);
  size_t sp = s.find_first_of(" \t");
  std::string op(s.substr(0, sp));
  for (auto& ch : op) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string arg(sp == std::string_view::npos ? "" : trim(s.substr(sp)));
  auto words = [&]() -> Result<std::vector<std::string>> {
    if (!arg.empty() && arg[0] == '[') {
      nlohmann::json j = ::berth::image::parse_json(arg);
      if (j.is_discarded() || !j.is_array())
        return fail(invalid("change {:?}: bad JSON array", std::string(change)));
      std::vector<std::string> v;
      for (const auto& w : j) {
        if (!w.is_string()) return fail(invalid("change {:?}: strings only", std::string(change)));
        v.push_back(w.get<std::string>());
      }
      return v;
    }
    return std::vector<std::string>{"/bin/sh", "-c", arg};
  };
  if (op == "CMD")
    c.cmd = BERTH_TRY(words());
  else if (op == "ENTRYPOINT")
    c.entrypoint = BERTH_TRY(words());
  else if (op == "ENV")
    c.env.push_back(arg.find('=') == std::string::npos
                        ? arg.substr(0, arg.find(' ')) + "=" +
                              std::string(trim(arg.substr(arg.find(' ') + 1)))
                        : arg);
  else if (op == "WORKDIR")
    c.working_dir = arg;
  else if (op == "USER")
    c.user = arg;
  else if (op == "EXPOSE")
    c.exposed_ports.push_back(arg.find('/') == std::string::npos ? arg + "/tcp" : arg);
  else if (op == "STOPSIGNAL")
    c.stop_signal = arg;
  else if (op == "LABEL" && arg.find('=') != std::string::npos)
    c.labels[arg.substr(0, arg.find('='))] = arg.substr(arg.find('=') + 1);
  else
    return fail(invalid("change {:?}: unsupported", std::string(change)));
  return {};
}

Result<ImageRecord> import_rootfs(Store& store, const std::string& tarball, const std::string& name,
                                  const ImportOptions& opts) {
  StoreLock held = BERTH_TRY(store.lock(false));
  ImageConfig cfg;
  cfg.os = "linux";
  cfg.architecture = host_platform().architecture;
  cfg.created = clock::now_rfc3339_seconds();
  for (const auto& ch : opts.changes) BERTH_CHECK(apply_change(cfg, ch));
  // The tarball becomes the layer blob as it is (its compression kept).
  BlobWriter w = BERTH_TRY(BlobWriter::open_new(store.blobs()));
  {
    UniqueFd in(::open(tarball.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail(sys_error(errno, "open {}", tarball));
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) return fail(sys_error(errno, "read {}", tarball));
      if (n == 0) break;
      BERTH_CHECK(w.write(buf.data(), static_cast<size_t>(n)));
    }
  }
  Digest blob = BERTH_TRY(w.commit());
  Digest diff_id = BERTH_TRY(unpack_blob(store, blob, std::nullopt));
  cfg.diff_ids = {diff_id};
  HistoryEntry h;
  h.created = cfg.created;
  h.created_by = "berth import " + path::basename(tarball);
  h.comment = opts.message;
  cfg.history = {h};
  std::string cfg_text = image_config_json(cfg);
  Manifest m;
  m.media_type = std::string(media::kOciManifest);
  m.config = {std::string(media::kOciConfig), BERTH_TRY(store.blobs().put(cfg_text)),
              static_cast<int64_t>(cfg_text.size())};
  UniqueFd bf(::open(store.blobs().path(blob).c_str(), O_RDONLY | O_CLOEXEC));
  FileReader fr(bf.get());
  DecompressReader dr(fr);
  char probe[4];
  (void)dr.read(probe, sizeof probe);
  Descriptor layer;
  layer.media_type = std::string(dr.compression() == Compression::kGzip   ? media::kOciLayerGzip
                                 : dr.compression() == Compression::kZstd ? media::kOciLayerZstd
                                                                          : media::kOciLayer);
  layer.digest = blob;
  layer.size = BERTH_TRY(store.blobs().size(blob));
  m.layers = {layer};
  Digest md = BERTH_TRY(store.blobs().put(manifest_json(m)));
  std::vector<std::string> names;
  if (!name.empty()) {
    Reference r = BERTH_TRY(parse_reference(name, store.options().default_registry));
    names.push_back(r.record_key());
  }
  return store.record_image(md, names);
}

}  // namespace berth::image
