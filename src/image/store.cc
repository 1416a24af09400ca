#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <set>

#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "base/trace.h"
#include "image/fs_util.h"

namespace berth::image {
namespace {

// "snapshots" must stay the last table: Db::ensure_schema looks for it.
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS manifests (
  digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, config TEXT NOT NULL,
  size INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS manifest_layers (
  manifest TEXT NOT NULL REFERENCES manifests(digest) ON DELETE CASCADE, idx INTEGER NOT NULL,
  blob TEXT NOT NULL, diff_id TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY (manifest, idx));
CREATE INDEX IF NOT EXISTS manifest_layers_diff ON manifest_layers(diff_id);
CREATE TABLE IF NOT EXISTS tags (
  name TEXT PRIMARY KEY, manifest TEXT NOT NULL REFERENCES manifests(digest),
  updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  diff_id TEXT PRIMARY KEY, size INTEGER NOT NULL, link TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blob_sources (
  digest TEXT NOT NULL, registry TEXT NOT NULL, repository TEXT NOT NULL,
  PRIMARY KEY (digest, registry, repository));
CREATE TABLE IF NOT EXISTS snapshots (
  key TEXT PRIMARY KEY, manifest TEXT NOT NULL REFERENCES manifests(digest),
  mode TEXT NOT NULL, created INTEGER NOT NULL);
)";

int64_t now() { return static_cast<int64_t>(time(nullptr)); }

std::vector<std::string> dir_names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

Result<void> remove_path(const std::string& dir, const std::string& name) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open {}", dir));
  return remove_at(fd.get(), name);
}

bool pid_alive(const std::string& tmp_name) {
  // Staging names start with the pid of the process that made them.
  auto pid = parse_int(tmp_name.substr(0, tmp_name.find('-')));
  if (!pid || *pid <= 0) return false;
  return kill(static_cast<pid_t>(*pid), 0) == 0 || errno == EPERM;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& root, StoreOptions opts) {
  for (const char* sub : {"blobs/sha256", "ingest", "layers", "l", "snapshots", "tmp"})
    BERTH_CHECK_CTX(file::mkdir_all(root + "/" + sub, 0700), "image store {}", root);
  // One database file per root, shared with the engine's container records (through this
  // connection, engine::Records::on): a command opens one file, and the first connection to
  // it, with no other process attached, truncates and rebuilds the -shm index (on ext4
  // without a journal a synchronous discard, and a read of the WAL: ~0.5-1 ms per file).
  trace::mark("store: dirs");
  Db db = BERTH_TRY(Db::open(root + "/berth.db"));
  trace::mark("store: db open");
  std::unique_ptr<Store> s(new Store(root, std::move(opts), std::move(db)));
  BERTH_CHECK(s->init_schema());
  trace::mark("store: schema");
  s->clean_stale_tmp();
  trace::mark("store: stale tmp");
  return s;
}

Result<void> Store::init_schema() { return db_.ensure_schema("snapshots", kSchema); }

void Store::clean_stale_tmp() {
  // Staging dirs of processes that died (a SIGKILLed pull) are garbage.
  for (const auto& n : dir_names(root_ + "/tmp"))
    if (!pid_alive(n)) (void)remove_path(root_ + "/tmp", n);
}

Result<StoreLock> Store::lock(bool exclusive) {
  UniqueFd fd(::open((root_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail(sys_error(errno, "open {}/lock", root_));
  while (flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) != 0)
    if (errno != EINTR) return fail(sys_error(errno, "lock the image store"));
  return StoreLock(std::move(fd));
}

std::string Store::layer_path(const Digest& diff_id) const {
  return root_ + "/layers/" + diff_id.hex();
}

Result<bool> Store::has_layer(const Digest& diff_id) {
  int64_t n = BERTH_TRY(db_.count("SELECT COUNT(*) FROM layers WHERE diff_id=?1", {diff_id.str()}));
  return n > 0 && file::exists(layer_path(diff_id));
}

Result<std::string> Store::make_staging_dir() {
  static std::atomic<uint64_t> counter{0};
  std::string p = fmt::format("{}/tmp/{}-{}-{}", root_, getpid(), now(), counter++);
  if (mkdir(p.c_str(), 0755) != 0) return fail(sys_error(errno, "mkdir {}", p));
  return p;
}

Result<std::string> Store::short_link(const Digest& diff_id) {
  // 12 hex digits of the diff_id; on the rare clash, more.
  for (size_t len = 12; len <= 64; len += 4) {
    std::string id = diff_id.hex().substr(0, len);
    std::string link = root_ + "/l/" + id;
    std::string target = "../layers/" + diff_id.hex();
    if (symlink(target.c_str(), link.c_str()) == 0) return id;
    if (errno != EEXIST) return fail(sys_error(errno, "symlink {}", link));
    char buf[256];
    ssize_t n = readlink(link.c_str(), buf, sizeof buf);
    if (n > 0 && std::string_view(buf, static_cast<size_t>(n)) == target) return id;
  }
  return fail(make_error(ErrorKind::kInternal, "no short link for {}", diff_id.str()));
}

Result<void> Store::commit_layer(const std::string& staging, const Digest& diff_id, int64_t size) {
  std::string dest = layer_path(diff_id);
  if (rename(staging.c_str(), dest.c_str()) != 0) {
    if (errno != ENOTEMPTY && errno != EEXIST)
      return fail(sys_error(errno, "rename {} to {}", staging, dest));
    // Renamed dirs are complete: an earlier or concurrent unpack of the same layer wins.
    (void)remove_path(path::dirname(staging), path::basename(staging));
  }
  std::string link = BERTH_TRY(short_link(diff_id));
  return db_.run("INSERT OR IGNORE INTO layers(diff_id, size, link, created) VALUES(?1,?2,?3,?4)",
                 {diff_id.str(), size, link, now()});
}

Result<int64_t> Store::layer_refcount(const Digest& diff_id) {
  return db_.count("SELECT COUNT(DISTINCT manifest) FROM manifest_layers WHERE diff_id=?1",
                   {diff_id.str()});
}

Result<ImageRecord> Store::record_image(const Digest& manifest_digest,
                                        const std::vector<std::string>& names) {
  std::string text = BERTH_TRY(blobs_.read(manifest_digest));
  Manifest m = BERTH_TRY(parse_manifest(text));
  std::string cfg_text = BERTH_TRY(blobs_.read(m.config.digest));
  ImageConfig cfg = BERTH_TRY(parse_image_config(cfg_text));
  if (cfg.diff_ids.size() != m.layers.size())
    return fail(invalid("image {}: manifest has {} layers but its config lists {} diff_ids",
                        manifest_digest.short_id(), m.layers.size(), cfg.diff_ids.size()));
  int64_t total = 0;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    if (!BERTH_TRY(has_layer(cfg.diff_ids[i])))
      return fail(make_error(ErrorKind::kFailedPrecondition, "layer {} is not unpacked",
                             cfg.diff_ids[i].str()));
    total += m.layers[i].size;
  }
  std::string mt = m.media_type.empty() ? std::string(media::kOciManifest) : m.media_type;
  BERTH_CHECK(db_.transaction([&]() -> Result<void> {
    BERTH_CHECK(
        db_.run("INSERT OR IGNORE INTO manifests(digest, media_type, config, size, created) "
                "VALUES(?1,?2,?3,?4,?5)",
                {manifest_digest.str(), mt, m.config.digest.str(), total, now()}));
    for (size_t i = 0; i < m.layers.size(); ++i)
      BERTH_CHECK(db_.run(
          "INSERT OR IGNORE INTO manifest_layers(manifest, idx, blob, diff_id, media_type, size) "
          "VALUES(?1,?2,?3,?4,?5,?6)",
          {manifest_digest.str(), static_cast<int64_t>(i), m.layers[i].digest.str(),
           cfg.diff_ids[i].str(), m.layers[i].media_type, m.layers[i].size}));
    for (const auto& n : names)
      BERTH_CHECK(db_.run("INSERT OR REPLACE INTO tags(name, manifest, updated) VALUES(?1,?2,?3)",
                          {n, manifest_digest.str(), now()}));
    return {};
  }));
  return load_record(manifest_digest);
}

Result<std::vector<LayerRef>> Store::load_layers(const Digest& manifest) {
  std::vector<LayerRef> out;
  Stmt st = BERTH_TRY(
      db_.query("SELECT blob, diff_id, media_type, size FROM manifest_layers WHERE manifest=?1 "
                "ORDER BY idx",
                {manifest.str()}));
  while (BERTH_TRY(st.step())) {
    LayerRef l;
    l.blob = BERTH_TRY(Digest::parse(st.text(0)));
    l.diff_id = BERTH_TRY(Digest::parse(st.text(1)));
    l.media_type = st.text(2);
    l.size = st.i64(3);
    out.push_back(std::move(l));
  }
  return out;
}

Result<ImageRecord> Store::load_record(const Digest& manifest) {
  Stmt st = BERTH_TRY(db_.query(
      "SELECT media_type, config, size, created FROM manifests WHERE digest=?1", {manifest.str()}));
  if (!BERTH_TRY(st.step()))
    return fail(make_error(ErrorKind::kNotFound, "image {} not found", manifest.str()));
  ImageRecord r;
  r.manifest = manifest;
  r.media_type = st.text(0);
  r.config = BERTH_TRY(Digest::parse(st.text(1)));
  r.size = st.i64(2);
  r.created = st.i64(3);
  Stmt names = BERTH_TRY(
      db_.query("SELECT name FROM tags WHERE manifest=?1 ORDER BY name", {manifest.str()}));
  while (BERTH_TRY(names.step())) r.names.push_back(names.text(0));
  r.layers = BERTH_TRY(load_layers(manifest));
  return r;
}

Reference Store::parse_name(std::string_view ref) const {
  auto r = parse_reference(ref, opts_.default_registry);
  return r ? *r : Reference{};
}

Result<ImageRecord> Store::resolve(std::string_view ref) {
  std::string s(ref);
  // A digest or an ID (config digest) prefix.
  std::string hex = s.rfind("sha256:", 0) == 0 ? s.substr(7) : s;
  bool hexish = hex.size() >= 4 && hex.size() <= 64 &&
                hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (auto r = parse_reference(s, opts_.default_registry)) {
    auto m = BERTH_TRY(db_.scalar("SELECT manifest FROM tags WHERE name=?1", {r->record_key()}));
    if (!m && !r->digest.empty()) {
      int64_t n =
          BERTH_TRY(db_.count("SELECT COUNT(*) FROM manifests WHERE digest=?1", {r->digest.str()}));
      if (n > 0) m = r->digest.str();
    }
    if (m) return load_record(BERTH_TRY(Digest::parse(*m)));
  } else if (!hexish) {
    return fail(std::move(r.error()));
  }
  if (hexish) {
    std::string like = "sha256:" + hex + "%";
    Stmt st = BERTH_TRY(
        db_.query("SELECT digest FROM manifests WHERE config LIKE ?1 OR digest LIKE ?1", {like}));
    std::set<std::string> found;
    while (BERTH_TRY(st.step())) found.insert(st.text(0));
    if (found.size() == 1) return load_record(BERTH_TRY(Digest::parse(*found.begin())));
    if (found.size() > 1)
      return fail(invalid("image ID prefix {:?} is ambiguous ({} images)", s, found.size()));
  }
  return fail(make_error(ErrorKind::kNotFound, "image {:?} not found", s));
}

Result<std::vector<ImageRecord>> Store::list() {
  std::vector<ImageRecord> out;
  Stmt st = BERTH_TRY(db_.query("SELECT digest FROM manifests ORDER BY created DESC, digest"));
  while (BERTH_TRY(st.step()))
    out.push_back(BERTH_TRY(load_record(BERTH_TRY(Digest::parse(st.text(0))))));
  return out;
}

Result<Manifest> Store::manifest(const Digest& d) {
  return parse_manifest(BERTH_TRY(blobs_.read(d)));
}

Result<std::string> Store::config_text(const ImageRecord& img) { return blobs_.read(img.config); }

Result<ImageConfig> Store::config(const ImageRecord& img) {
  return parse_image_config(BERTH_TRY(config_text(img)));
}

Result<void> Store::tag(const ImageRecord& img, std::string_view new_name) {
  Reference r = BERTH_TRY(parse_reference(new_name, opts_.default_registry));
  if (r.tag.empty()) return fail(invalid("tag {:?}: a tag is needed, not a digest", new_name));
  return db_.run("INSERT OR REPLACE INTO tags(name, manifest, updated) VALUES(?1,?2,?3)",
                 {r.record_key(), img.manifest.str(), now()});
}

Result<std::vector<std::string>> Store::remove(std::string_view ref, bool force) {
  ImageRecord img = BERTH_TRY(resolve(ref));
  std::vector<std::string> removed;
  // A name removes that name; an ID or digest removes every name.
  auto r = parse_reference(ref, opts_.default_registry);
  bool by_name = false;
  if (r) {
    for (const auto& n : img.names) by_name |= n == r->record_key();
  }
  std::vector<std::string> names = by_name ? std::vector<std::string>{r->record_key()} : img.names;
  int64_t snaps = BERTH_TRY(
      db_.count("SELECT COUNT(*) FROM snapshots WHERE manifest=?1", {img.manifest.str()}));
  bool last = names.size() == img.names.size();
  if (last && snaps > 0 && !force)
    return fail(make_error(ErrorKind::kFailedPrecondition, "image {} is in use by {} container(s)",
                           img.config.short_id(), snaps));
  BERTH_CHECK(db_.transaction([&]() -> Result<void> {
    for (const auto& n : names) {
      BERTH_CHECK(db_.run("DELETE FROM tags WHERE name=?1", {n}));
      removed.push_back(n);
    }
    if (last && snaps == 0)
      BERTH_CHECK(db_.run("DELETE FROM manifests WHERE digest=?1", {img.manifest.str()}));
    return {};
  }));
  return removed;
}

Result<void> Store::add_blob_source(const Digest& d, std::string_view registry,
                                    std::string_view repo) {
  return db_.run(
      "INSERT OR IGNORE INTO blob_sources(digest, registry, repository) "
      "VALUES(?1,?2,?3)",
      {d.str(), std::string(registry), std::string(repo)});
}

Result<std::vector<std::string>> Store::blob_sources(const Digest& d, std::string_view registry) {
  std::vector<std::string> out;
  Stmt st =
      BERTH_TRY(db_.query("SELECT repository FROM blob_sources WHERE digest=?1 AND registry=?2",
                          {d.str(), std::string(registry)}));
  while (BERTH_TRY(st.step())) out.push_back(st.text(0));
  return out;
}

Result<GcStats> Store::gc(bool dangling) {
  GcStats stats;
  if (dangling) {
    BERTH_CHECK(db_.transaction([&]() -> Result<void> {
      stats.images = BERTH_TRY(db_.count(
          "SELECT COUNT(*) FROM manifests WHERE digest NOT IN (SELECT manifest FROM tags) "
          "AND digest NOT IN (SELECT manifest FROM snapshots)"));
      return db_.run(
          "DELETE FROM manifests WHERE digest NOT IN (SELECT manifest FROM tags) "
          "AND digest NOT IN (SELECT manifest FROM snapshots)");
    }));
  }
  // What is referenced.
  std::set<std::string> blobs, layers;
  {
    Stmt st = BERTH_TRY(db_.query("SELECT digest, config FROM manifests"));
    while (BERTH_TRY(st.step())) {
      blobs.insert(st.text(0).substr(7));
      blobs.insert(st.text(1).substr(7));
    }
    Stmt ls = BERTH_TRY(db_.query("SELECT blob, diff_id FROM manifest_layers"));
    while (BERTH_TRY(ls.step())) {
      blobs.insert(ls.text(0).substr(7));
      layers.insert(ls.text(1).substr(7));
    }
  }
  for (const auto& n : dir_names(root_ + "/blobs/sha256")) {
    if (blobs.count(n)) continue;
    struct stat st {};
    if (stat((root_ + "/blobs/sha256/" + n).c_str(), &st) == 0) stats.bytes += st.st_size;
    BERTH_CHECK(remove_path(root_ + "/blobs/sha256", n));
    ++stats.blobs;
  }
  BERTH_CHECK(
      db_.run("DELETE FROM layers WHERE substr(diff_id, 8) NOT IN "
              "(SELECT substr(diff_id, 8) FROM manifest_layers)"));
  for (const auto& n : dir_names(root_ + "/layers")) {
    if (layers.count(n)) continue;
    BERTH_CHECK(remove_path(root_ + "/layers", n));
    ++stats.layers;
  }
  for (const auto& n : dir_names(root_ + "/l")) {
    char buf[256];
    ssize_t k = readlink((root_ + "/l/" + n).c_str(), buf, sizeof buf);
    std::string target = k > 0 ? std::string(buf, static_cast<size_t>(k)) : "";
    if (!layers.count(path::basename(target))) unlink((root_ + "/l/" + n).c_str());
  }
  BERTH_CHECK(
      db_.run("DELETE FROM blob_sources WHERE substr(digest, 8) NOT IN "
              "(SELECT substr(blob, 8) FROM manifest_layers)"));
  for (const auto& n : dir_names(root_ + "/ingest")) (void)remove_path(root_ + "/ingest", n);
  clean_stale_tmp();
  return stats;
}

Result<CheckReport> Store::check(bool verify_blobs) {
  CheckReport rep;
  auto problem = [&](std::string s) { rep.problems.push_back(std::move(s)); };
  std::set<std::string> blob_files;
  for (const auto& n : dir_names(root_ + "/blobs/sha256")) {
    if (!is_hex64(n)) {
      rep.notes.push_back("stray file in blobs: " + n);
      continue;
    }
    blob_files.insert(n);
    if (verify_blobs) {
      ++rep.blobs_checked;
      if (auto ok = blobs_.verify(Digest::from_hex(n)); !ok) problem(ok.error().text());
    }
  }
  auto need_blob = [&](const std::string& digest, const std::string& what) {
    if (digest.size() < 8 || !blob_files.count(digest.substr(7)))
      problem(fmt::format("{}: blob {} is missing", what, digest));
  };
  std::set<std::string> layer_rows, layer_dirs;
  for (const auto& n : dir_names(root_ + "/layers")) layer_dirs.insert(n);
  {
    Stmt st = BERTH_TRY(db_.query("SELECT diff_id, link FROM layers"));
    while (BERTH_TRY(st.step())) {
      std::string hex = st.text(0).substr(7);
      layer_rows.insert(hex);
      if (!layer_dirs.count(hex)) problem("layer " + st.text(0) + ": directory is missing");
      struct stat lst {};
      if (stat((root_ + "/l/" + st.text(1)).c_str(), &lst) != 0)
        problem("layer " + st.text(0) + ": short link l/" + st.text(1) + " is broken");
    }
  }
  for (const auto& d : layer_dirs)
    if (!layer_rows.count(d)) rep.notes.push_back("unrecorded layer directory " + d);
  Stmt ms = BERTH_TRY(db_.query("SELECT digest, config FROM manifests"));
  while (BERTH_TRY(ms.step())) {
    std::string m = ms.text(0);
    need_blob(m, "image " + m);
    need_blob(ms.text(1), "image " + m + " config");
    Stmt ls =
        BERTH_TRY(db_.query("SELECT blob, diff_id FROM manifest_layers WHERE manifest=?1", {m}));
    while (BERTH_TRY(ls.step())) {
      need_blob(ls.text(0), "image " + m + " layer");
      if (!layer_rows.count(ls.text(1).substr(7)))
        problem("image " + m + ": layer " + ls.text(1) + " is not unpacked");
    }
  }
  Stmt ts = BERTH_TRY(db_.query(
      "SELECT name, manifest FROM tags WHERE manifest NOT IN (SELECT digest FROM manifests)"));
  while (BERTH_TRY(ts.step())) problem("name " + ts.text(0) + ": image " + ts.text(1) + " missing");
  Stmt ss = BERTH_TRY(db_.query("SELECT key, manifest FROM snapshots"));
  while (BERTH_TRY(ss.step())) {
    int64_t n =
        BERTH_TRY(db_.count("SELECT COUNT(*) FROM manifests WHERE digest=?1", {ss.text(1)}));
    if (n == 0) problem("snapshot " + ss.text(0) + ": image " + ss.text(1) + " missing");
    if (!file::exists(root_ + "/snapshots/" + ss.text(0)))
      problem("snapshot " + ss.text(0) + ": directory is missing");
  }
  if (!dir_names(root_ + "/ingest").empty())
    rep.notes.push_back("partial downloads in ingest/ (resumed by the next pull)");
  return rep;
}

}  // namespace berth::image
