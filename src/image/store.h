// The image store: blobs by digest, unpacked layers shared by every image that has them,
// image records in SQLite, snapshots (container root file systems), garbage collection and a
// consistency check. Everything lives under one root directory:
//
//   blobs/sha256/<hex>     manifests, configs and layer blobs, verified
//   ingest/<hex>.partial   downloads in progress (resumed with HTTP Range)
//   layers/<diff_id hex>/  unpacked layers (overlayfs lower directories)
//   l/<short id>           short symlinks to layers (keeps mount options short)
//   snapshots/<key>/       upper/, work/ and rootfs/ of one container
//   tmp/                   staging for unpacks
//   berth.db               image, layer and snapshot records (SQLite, WAL); the engine keeps
//                          its container records in the same file (see Store::open)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "image/blob_store.h"
#include "image/db.h"
#include "image/digest.h"
#include "image/image_config.h"
#include "image/manifest.h"
#include "image/reference.h"

namespace berth::image {

struct StoreOptions {
  std::string default_registry = std::string(kDockerHub);
};

struct LayerRef {
  Digest blob;
  Digest diff_id;
  std::string media_type;
  int64_t size = 0;  // blob size
};

struct ImageRecord {
  Digest manifest;  // the manifest's digest (what registries call the image digest)
  Digest config;    // the config's digest (Docker's image ID)
  std::string media_type;
  std::vector<std::string> names;  // record keys: "docker.io/library/busybox:latest"
  int64_t created = 0;             // when stored (unix seconds)
  int64_t size = 0;                // sum of layer blob sizes
  std::vector<LayerRef> layers;    // base first
  std::string id() const { return config.hex(); }
};

struct GcStats {
  int64_t images = 0;
  int64_t blobs = 0;
  int64_t layers = 0;
  int64_t bytes = 0;
};

struct CheckReport {
  std::vector<std::string> problems;  // broken references, bad digests: the store is damaged
  std::vector<std::string> notes;     // unreferenced data that prune would remove
  int64_t blobs_checked = 0;
  bool ok() const { return problems.empty(); }
};

enum class SnapshotMode { kAuto, kOverlay, kCopy };

struct SnapshotOptions {
  SnapshotMode mode = SnapshotMode::kAuto;
  // The snapshot dies with its container (`run --rm`), so its overlay skips all syncs
  // (overlayfs "volatile"); a host crash may leave it unusable, never half-synced.
  bool throwaway = false;
  // A container's root: under the image, a bottom layer with empty /etc/hosts, /etc/hostname
  // and /etc/resolv.conf, the targets of the files the engine binds in (see snapshot.cc).
  bool container_files = false;
};

struct Snapshot {
  std::string key;
  std::string rootfs;  // the path to give the runtime as root.path
  SnapshotMode mode = SnapshotMode::kOverlay;
};

// An flock on <root>/lock: pulls, loads and snapshots hold it shared; prune and rmi hold it
// exclusive, so garbage collection never removes what a running pull just wrote.
class StoreLock {
 public:
  StoreLock() = default;
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& root, StoreOptions opts = {});

  const std::string& root() const { return root_; }
  const StoreOptions& options() const { return opts_; }
  const BlobStore& blobs() const { return blobs_; }
  Db& db() { return db_; }
  Result<StoreLock> lock(bool exclusive);

  // Layers.
  std::string layer_path(const Digest& diff_id) const;
  Result<bool> has_layer(const Digest& diff_id);
  // A fresh empty directory on the store's file system to unpack into.
  Result<std::string> make_staging_dir();
  // Moves a fully unpacked staging dir into place and records it. An existing layer (from a
  // concurrent or interrupted pull) wins and the staging dir is removed.
  Result<void> commit_layer(const std::string& staging, const Digest& diff_id, int64_t size);
  // The blob that a layer was unpacked from (for cross-checks), if recorded.
  Result<int64_t> layer_refcount(const Digest& diff_id);

  // Images. record_image needs the manifest, its config and every layer in the store.
  Result<ImageRecord> record_image(const Digest& manifest, const std::vector<std::string>& names);
  // An image by name ("busybox", "host:5000/app:v1"), digest or unique ID prefix.
  Result<ImageRecord> resolve(std::string_view ref);
  Result<std::vector<ImageRecord>> list();
  Result<Manifest> manifest(const Digest& d);
  Result<ImageConfig> config(const ImageRecord& img);
  Result<std::string> config_text(const ImageRecord& img);
  Result<void> tag(const ImageRecord& img, std::string_view new_name);
  // Removes a name; the image record goes with its last name unless a snapshot uses it
  // (force removes the names anyway). Returns the names removed.
  Result<std::vector<std::string>> remove(std::string_view ref, bool force = false);
  Reference parse_name(std::string_view ref) const;

  // Where a blob was seen on a registry (for cross-repository mounts on push).
  Result<void> add_blob_source(const Digest& d, std::string_view registry, std::string_view repo);
  Result<std::vector<std::string>> blob_sources(const Digest& d, std::string_view registry);

  // Garbage collection: images with no name and no snapshot (with dangling), then blobs and
  // layers that no image references, stale staging dirs and partial downloads.
  Result<GcStats> gc(bool dangling = true);
  // Verifies every blob's digest (when verify_blobs) and every reference between records,
  // blobs, layers and snapshots.
  Result<CheckReport> check(bool verify_blobs = true);

  // Snapshots (see snapshot.cc).
  Result<Snapshot> prepare_snapshot(const ImageRecord& img, std::string_view key,
                                    const SnapshotOptions& opts = {});
  // Mounts a recorded overlay snapshot again on its kept upper layer (after a reboot);
  // a copied one is left alone, an unrecorded one is prepared.
  Result<void> remount_snapshot(const ImageRecord& img, std::string_view key,
                                const SnapshotOptions& opts = {});
  // Unmounts and removes a snapshot; overlayfs's work directory goes to the snapshot trash.
  Result<void> remove_snapshot(std::string_view key);
  // Deletes what removed snapshots left in the trash (snapshot.cc, kTrash). Best effort,
  // safe to run on a thread of its own and alongside other processes doing the same: it
  // touches nothing but the trash directory.
  void empty_trash() const;
  Result<std::vector<Snapshot>> list_snapshots();

 private:
  Store(std::string root, StoreOptions opts, Db db)
      : root_(std::move(root)), opts_(std::move(opts)), blobs_(root_), db_(std::move(db)) {}
  Result<void> init_schema();
  Result<std::vector<LayerRef>> load_layers(const Digest& manifest);
  Result<ImageRecord> load_record(const Digest& manifest);
  Result<std::string> short_link(const Digest& diff_id);
  void clean_stale_tmp();

  std::string root_;
  StoreOptions opts_;
  BlobStore blobs_;
  Db db_;
};

}  // namespace berth::image
