#include "image/manifest.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "image/json_util.h"
#include "oci/json_read.h"

namespace berth::image {

using oci::jr::Obj;

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

bool is_manifest_type(std::string_view t) {
  return t == media::kOciManifest || t == media::kDockerManifest;
}
bool is_index_type(std::string_view t) { return t == media::kOciIndex || t == media::kDockerList; }

Result<Compression> layer_compression(std::string_view t) {
  if (t == media::kOciLayer || t == media::kDockerLayer ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar")
    return Compression::kNone;
  if (t == media::kOciLayerGzip || t == media::kDockerLayerGzip ||
      t == media::kDockerForeignLayer ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
    return Compression::kGzip;
  if (t == media::kOciLayerZstd ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")
    return Compression::kZstd;
  return fail(make_error(ErrorKind::kUnavailable, "layer media type {:?} is not supported",
                         std::string(t.substr(0, 200))));
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<Platform> parse_platform(std::string_view s) {
  std::vector<std::string> p = split(s, '/');
  Platform out;
  if (p.size() == 1) {
    out.architecture = p[0];
  } else if (p.size() == 2 || p.size() == 3) {
    out.os = p[0];
    out.architecture = p[1];
    if (p.size() == 3) out.variant = p[2];
  } else {
    return fail(invalid("platform {:?}: expected os/arch[/variant]", std::string(s)));
  }
  for (const auto& part : p)
    if (part.empty()) return fail(invalid("platform {:?}: empty part", std::string(s)));
  return out;
}

Platform host_platform() {
  Platform p;
#if defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__x86_64__)
  p.architecture = "amd64";
#endif
  return p;
}

namespace {

Digest read_digest(const Obj& o, const char* key) {
  std::string s = o.string(key, true);
  auto d = Digest::parse(s);
  if (!d) oci::jr::bad(o.where(key), d.error().message());
  return *d;
}

Descriptor read_descriptor(const Obj& o) {
  Descriptor d;
  d.media_type = o.string("mediaType", true);
  d.digest = read_digest(o, "digest");
  d.size = o.i64("size", true);
  if (d.size < 0) oci::jr::bad(o.where("size"), "negative size");
  d.urls = o.strings("urls");
  d.annotations = o.string_map("annotations");
  if (auto p = o.object("platform")) {
    Platform pl;
    pl.os = p->string("os", true);
    pl.architecture = p->string("architecture", true);
    pl.variant = p->string("variant");
    d.platform = pl;
  }
  return d;
}

nlohmann::json descriptor_json(const Descriptor& d) {
  nlohmann::json j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) {
    j["platform"] = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    if (!d.platform->variant.empty()) j["platform"]["variant"] = d.platform->variant;
  }
  return j;
}

int read_schema(const Obj& o) {
  int64_t v = o.i64("schemaVersion", true);
  if (v != 2) oci::jr::bad(o.where("schemaVersion"), fmt::format("expected 2, got {}", v));
  return 2;
}

}  // namespace

std::string detect_media_type(std::string_view text) {
  nlohmann::json j = ::berth::image::parse_json(text);
  if (j.is_discarded() || !j.is_object()) return "";
  auto mt = j.find("mediaType");
  if (mt != j.end() && mt->is_string()) return mt->get<std::string>();
  if (j.contains("manifests")) return std::string(media::kOciIndex);
  if (j.contains("layers") || j.contains("config")) return std::string(media::kOciManifest);
  return "";
}

Result<Manifest> parse_manifest(std::string_view text) {
  return ::berth::image::parse_untrusted(text, "image manifest", [](const Obj& o) {
    Manifest m;
    m.schema_version = read_schema(o);
    m.media_type = o.string("mediaType");
    if (!m.media_type.empty() && !is_manifest_type(m.media_type))
      oci::jr::bad(o.where("mediaType"),
                   fmt::format("{:?} is not an image manifest type", m.media_type.substr(0, 200)));
    auto cfg = o.object("config", true);
    m.config = read_descriptor(*cfg);
    for (const auto& l : o.array("layers")) m.layers.push_back(read_descriptor(l));
    m.annotations = o.string_map("annotations");
    return m;
  });
}

Result<Index> parse_index(std::string_view text) {
  return ::berth::image::parse_untrusted(text, "image index", [](const Obj& o) {
    Index idx;
    idx.schema_version = read_schema(o);
    idx.media_type = o.string("mediaType");
    if (!idx.media_type.empty() && !is_index_type(idx.media_type))
      oci::jr::bad(o.where("mediaType"),
                   fmt::format("{:?} is not an image index type", idx.media_type.substr(0, 200)));
    if (!o.has("manifests")) oci::jr::bad(o.where("manifests"), "missing");
    for (const auto& d : o.array("manifests")) idx.manifests.push_back(read_descriptor(d));
    return idx;
  });
}

Result<Descriptor> choose_platform(const Index& idx, const Platform& want) {
  const Descriptor* loose = nullptr;
  std::vector<std::string> seen;
  for (const auto& d : idx.manifests) {
    if (!d.platform) continue;
    seen.push_back(d.platform->str());
    if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
    if (want.variant.empty() || d.platform->variant == want.variant) return d;
    if (d.platform->variant.empty() && !loose) loose = &d;
  }
  if (loose) return *loose;
  // An index with one manifest and no platform (an OCI layout made by hand) is that image.
  if (idx.manifests.size() == 1 && !idx.manifests[0].platform) return idx.manifests[0];
  return fail(make_error(ErrorKind::kNotFound, "no image for platform {} (the index has: {})",
                         want.str(), seen.empty() ? "no platforms" : join(seen, ", ")));
}

std::string manifest_json(const Manifest& m) {
  nlohmann::json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = m.media_type.empty() ? std::string(media::kOciManifest) : m.media_type;
  j["config"] = descriptor_json(m.config);
  j["layers"] = nlohmann::json::array();
  for (const auto& l : m.layers) j["layers"].push_back(descriptor_json(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string index_json(const Index& idx) {
  nlohmann::json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = idx.media_type.empty() ? std::string(media::kOciIndex) : idx.media_type;
  j["manifests"] = nlohmann::json::array();
  for (const auto& d : idx.manifests) j["manifests"].push_back(descriptor_json(d));
  return j.dump();
}

}  // namespace berth::image
