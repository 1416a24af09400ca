#include "registry/push.h"

#include <fcntl.h>

#include "base/log.h"
#include "registry/client.h"
#include "registry/progress.h"

namespace berth::registry {

using image::Digest;

namespace {

enum class Sent { kPresent, kMounted, kUploaded };

Result<Sent> push_blob(image::Store& store, Client& client, const Digest& d, int64_t chunk) {
  if (BERTH_TRY(client.head_blob(d))) return Sent::kPresent;
  const auto& dest = client.ref();
  for (const auto& from : BERTH_TRY(store.blob_sources(d, dest.registry))) {
    if (from == dest.repository) continue;
    auto mounted = client.mount_blob(d, from);
    if (mounted && *mounted) return Sent::kMounted;
    if (!mounted) log::debug("mount {} from {}: {}", d.short_id(), from, mounted.error().text());
  }
  UniqueFd fd(::open(store.blobs().path(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open blob {}", d.str()));
  int64_t size = BERTH_TRY(store.blobs().size(d));
  BERTH_CHECK(client.upload_blob(d, fd.get(), size, chunk));
  return Sent::kUploaded;
}

}  // namespace

Result<PushResult> push(image::Store& store, const RegistryConfig& cfg, const AuthFile& auth,
                        std::string_view src, std::string_view dest_text, const PushOptions& opts) {
  image::ImageRecord img = BERTH_TRY(store.resolve(src));
  image::Reference dest =
      BERTH_TRY(image::parse_reference(dest_text.empty() ? src : dest_text, cfg.default_registry));
  std::optional<Credential> cred = BERTH_TRY(auth.get(dest.registry));
  Client client(cfg, cred, dest, true);
  int64_t chunk = opts.chunk_size >= 0 ? opts.chunk_size : cfg.push_chunk_size;
  Progress progress(opts.progress);
  PushResult res;
  std::vector<std::pair<Digest, int64_t>> blobs;
  for (const auto& l : img.layers) blobs.emplace_back(l.blob, l.size);
  blobs.emplace_back(img.config, BERTH_TRY(store.blobs().size(img.config)));
  for (const auto& [d, size] : blobs) {
    int row = progress.add(d.short_id(), size);
    progress.set_state(row, "pushing");
    Sent s = BERTH_TRY(push_blob(store, client, d, chunk));
    progress.set_done(row, size);
    progress.set_state(row, s == Sent::kPresent   ? "exists"
                            : s == Sent::kMounted ? "mounted"
                                                  : "pushed");
    (s == Sent::kPresent   ? res.blobs_present
     : s == Sent::kMounted ? res.blobs_mounted
                           : res.blobs_uploaded)++;
  }
  progress.stop();
  std::string body = BERTH_TRY(store.blobs().read(img.manifest));
  res.manifest = BERTH_TRY(
      client.put_manifest(dest.tag.empty() ? img.manifest.str() : dest.tag, body, img.media_type));
  for (const auto& [d, size] : blobs)
    (void)store.add_blob_source(d, dest.registry, dest.repository);
  return res;
}

}  // namespace berth::registry
