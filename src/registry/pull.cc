#include "registry/pull.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "base/log.h"
#include "image/blob_store.h"
#include "image/fs_util.h"
#include "image/stream.h"
#include "image/unpack.h"
#include "registry/client.h"
#include "registry/progress.h"

namespace berth::registry {

using image::Digest;

namespace {

constexpr int64_t kMaxSmallBlob = 16 << 20;  // manifests and configs
constexpr int kAttempts = 4;

struct LayerJob {
  image::Descriptor desc;
  Digest diff_id;
  int row = -1;
};

struct Shared {
  image::Store& store;
  Client& client;
  Progress& progress;
  int64_t rate_limit;
  std::atomic<int64_t> fetched{0}, resumed{0};
  std::atomic<bool> cancel{false};
};

// Unpacks what reader yields into a staging dir; checks both digests; commits the layer.
struct UnpackOutcome {
  Result<void> result = {};
  Digest compressed, uncompressed;
  int64_t size = 0;
};

UnpackOutcome unpack_stream(image::Reader& raw, const std::string& staging) {
  UnpackOutcome out;
  out.result = [&]() -> Result<void> {
    UniqueFd dir(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return fail(sys_error(errno, "open {}", staging));
    image::DecompressReader dr(raw);
    image::UnpackStats st = BERTH_TRY(image::unpack_layer(dr, dir.get()));
    BERTH_CHECK(dr.drain());
    out.compressed = dr.compressed_digest();
    out.uncompressed = dr.uncompressed_digest();
    out.size = st.bytes;
    return {};
  }();
  return out;
}

// Downloads the blob into its (resumable) partial file while another thread unpacks it.
Result<void> fetch_layer(Shared& sh, LayerJob& job) {
  image::Store& store = sh.store;
  const Digest& blob = job.desc.digest;
  std::string staging = BERTH_TRY(store.make_staging_dir());
  auto cleanup_staging = [&] { (void)image::remove_at(AT_FDCWD, staging); };
  bool have_blob = store.blobs().has(blob);
  std::optional<image::BlobWriter> writer;
  image::GrowingFile growing;
  UniqueFd rfd;
  if (have_blob) {
    rfd = UniqueFd(::open(store.blobs().path(blob).c_str(), O_RDONLY | O_CLOEXEC));
  } else {
    writer.emplace(BERTH_TRY(image::BlobWriter::open(store.blobs(), blob)));
    rfd = UniqueFd(::open(writer->partial_path().c_str(), O_RDONLY | O_CLOEXEC));
    growing.grow(writer->offset());
    if (writer->offset() > 0) {
      sh.resumed += writer->offset();
      log::info("resuming {} from byte {}", blob.str(), writer->offset());
    }
  }
  if (!rfd) return fail(sys_error(errno, "open layer data of {}", blob.short_id()));
  image::FileReader reader(rfd.get(), have_blob ? nullptr : &growing);
  UnpackOutcome unpacked;
  std::thread unpacker([&] {
    unpacked = unpack_stream(reader, staging);
    if (!unpacked.result) sh.cancel = true;
  });
  Result<void> got = {};
  if (!have_blob) {
    sh.progress.set_state(job.row, "downloading");
    got = [&]() -> Result<void> {
      for (int attempt = 1;; ++attempt) {
        int64_t start = writer->offset();
        int64_t skip = 0;  // a registry that ignored Range resends bytes we have
        auto sink = [&](const char* data, size_t n) -> Result<void> {
          if (sh.cancel) return fail(make_error(ErrorKind::kInternal, "cancelled"));
          if (skip > 0) {
            size_t s = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(n)));
            data += s;
            n -= s;
            skip -= static_cast<int64_t>(s);
          }
          if (writer->offset() + static_cast<int64_t>(n) > job.desc.size)
            return fail(invalid("blob {} is larger than its descriptor's {} bytes", blob.short_id(),
                                job.desc.size));
          BERTH_CHECK(writer->write(data, n));
          sh.fetched += static_cast<int64_t>(n);
          growing.grow(writer->offset());
          sh.progress.set_done(job.row, writer->offset());
          return {};
        };
        auto restart = [&]() -> Result<void> {
          skip = start;
          return {};
        };
        if (start >= job.desc.size) return {};
        auto r = sh.client.fetch_blob(blob, start, sink, restart);
        if (r) return {};
        if (sh.cancel || attempt >= kAttempts || r.error().kind() != ErrorKind::kUnavailable)
          return fail(std::move(r.error()));
        log::info("fetch {}: {}; retrying from byte {}", blob.short_id(), r.error().text(),
                  writer->offset());
        usleep(200000 * attempt);
      }
    }();
    growing.finish(static_cast<bool>(got), got ? "" : got.error().text());
  }
  unpacker.join();
  if (!got) {
    cleanup_staging();
    return fail(std::move(got.error()).wrap(fmt::format("layer {}", blob.short_id())));
  }
  if (!unpacked.result) {
    cleanup_staging();
    if (writer) writer->discard();  // what we have is not a good layer: do not resume it
    return fail(std::move(unpacked.result.error()).wrap(fmt::format("layer {}", blob.short_id())));
  }
  sh.progress.set_state(job.row, "verifying");
  auto verified = [&]() -> Result<void> {
    BERTH_CHECK(image::verify_digest(blob, unpacked.compressed, "layer blob"));
    BERTH_CHECK(image::verify_digest(job.diff_id, unpacked.uncompressed, "layer diff_id"));
    if (writer) BERTH_TRY(writer->commit());
    return {};
  }();
  if (!verified) {
    cleanup_staging();
    if (writer) writer->discard();
    return fail(std::move(verified.error()).wrap(fmt::format("layer {}", blob.short_id())));
  }
  BERTH_CHECK(store.commit_layer(staging, job.diff_id, unpacked.size));
  sh.progress.set_state(job.row, "done");
  return {};
}

Result<void> run_jobs(Shared& sh, std::vector<LayerJob>& jobs, int parallel) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> first;
  auto worker = [&] {
    for (;;) {
      size_t i = next++;
      if (i >= jobs.size() || sh.cancel) return;
      auto r = fetch_layer(sh, jobs[i]);
      if (!r) {
        std::lock_guard l(mu);
        if (!first) first = std::move(r.error());
        sh.cancel = true;
      }
    }
  };
  std::vector<std::thread> threads;
  int n = std::max(1, std::min<int>(parallel, static_cast<int>(jobs.size())));
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first) return fail(std::move(*first));
  return {};
}

Result<FetchedManifest> resolve_manifest(Client& client, const image::Reference& ref,
                                         const image::Platform& platform) {
  FetchedManifest m =
      BERTH_TRY(client.get_manifest(ref.digest.empty() ? ref.tag : ref.digest.str()));
  if (m.body.size() > kMaxSmallBlob) return fail(invalid("manifest of {} is too large", ref.str()));
  if (image::is_index_type(m.media_type)) {
    image::Index idx = BERTH_TRY(image::parse_index(m.body));
    image::Descriptor d = BERTH_TRY(image::choose_platform(idx, platform));
    m = BERTH_TRY(client.get_manifest(d.digest.str()));
  }
  if (!image::is_manifest_type(m.media_type))
    return fail(make_error(ErrorKind::kUnavailable, "{}: unsupported manifest type {:?}", ref.str(),
                           m.media_type));
  return m;
}

}  // namespace

Result<PullResult> pull(image::Store& store, const RegistryConfig& cfg, const AuthFile& auth,
                        std::string_view ref_text, const PullOptions& opts) {
  image::Reference ref = BERTH_TRY(image::parse_reference(ref_text, cfg.default_registry));
  image::StoreLock held = BERTH_TRY(store.lock(false));
  std::optional<Credential> cred = BERTH_TRY(auth.get(ref.registry));
  Client client(cfg, cred, ref, false);
  client.set_rate_limit(opts.rate_limit);
  FetchedManifest fm =
      BERTH_TRY(resolve_manifest(client, ref, opts.platform.value_or(image::host_platform())));
  image::Manifest m = BERTH_TRY(image::parse_manifest(fm.body));
  for (const auto& l : m.layers) BERTH_TRY(image::layer_compression(l.media_type));
  // The config (small): fetched whole and verified.
  if (!store.blobs().has(m.config.digest)) {
    if (m.config.size > kMaxSmallBlob) return fail(invalid("image config is too large"));
    std::string cfg_text;
    BERTH_TRY(client.fetch_blob(
        m.config.digest, 0,
        [&](const char* d, size_t n) -> Result<void> {
          if (cfg_text.size() + n > kMaxSmallBlob) return fail(invalid("image config too large"));
          cfg_text.append(d, n);
          return {};
        },
        [] { return Result<void>{}; }));
    BERTH_CHECK(store.blobs().put_verified(m.config.digest, cfg_text));
  }
  image::ImageConfig config =
      BERTH_TRY(image::parse_image_config(BERTH_TRY(store.blobs().read(m.config.digest))));
  if (config.diff_ids.size() != m.layers.size())
    return fail(invalid("{}: manifest has {} layers, config has {} diff_ids", ref.str(),
                        m.layers.size(), config.diff_ids.size()));
  PullResult res;
  Progress progress(opts.progress);
  std::vector<LayerJob> jobs;
  std::set<std::string> queued;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const auto& d = m.layers[i];
    bool present = BERTH_TRY(store.has_layer(config.diff_ids[i])) && store.blobs().has(d.digest);
    if (present || !queued.insert(d.digest.hex()).second) {
      if (present) ++res.layers_present;
      int row = progress.add(d.digest.short_id(), d.size);
      progress.set_state(row, "exists");
      progress.set_done(row, d.size);
      continue;
    }
    jobs.push_back({d, config.diff_ids[i], progress.add(d.digest.short_id(), d.size)});
  }
  Shared sh{store, client, progress, opts.rate_limit};
  auto ran =
      run_jobs(sh, jobs, opts.max_parallel > 0 ? opts.max_parallel : cfg.max_parallel_downloads);
  progress.stop();
  if (!ran) return fail(std::move(ran.error()).wrap(fmt::format("pull {}", ref.familiar())));
  BERTH_CHECK(store.blobs().put_verified(fm.digest, fm.body));
  res.image = BERTH_TRY(store.record_image(fm.digest, {ref.record_key()}));
  for (const auto& l : m.layers)
    (void)store.add_blob_source(l.digest, ref.registry, ref.repository);
  res.layers_fetched = static_cast<int>(jobs.size());
  res.bytes_fetched = sh.fetched;
  res.bytes_resumed = sh.resumed;
  return res;
}

}  // namespace berth::registry
