// Image-spec documents: descriptors, image manifests (OCI and Docker schema 2), image indexes
// and Docker manifest lists, and the platform choice. Parsers take untrusted JSON and name
// the field at fault.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "image/digest.h"

namespace berth::image {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

enum class Compression { kNone, kGzip, kZstd };
std::string_view compression_name(Compression c);

bool is_manifest_type(std::string_view media_type);
bool is_index_type(std::string_view media_type);
// A layer media type we can unpack; its compression (a guess for unknown "+gzip" forms).
Result<Compression> layer_compression(std::string_view media_type);

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::string str() const;  // "linux/arm64/v8"
};
// "linux/amd64", "linux/arm64/v8", "arm64" (os defaults to linux).
Result<Platform> parse_platform(std::string_view s);
Platform host_platform();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // as given in the document (may be empty for OCI)
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
};

// The kind of document in text: its mediaType field, else guessed from its shape.
std::string detect_media_type(std::string_view text);
Result<Manifest> parse_manifest(std::string_view text);
Result<Index> parse_index(std::string_view text);
// The descriptor in idx that matches want (variant optional); names what is available if none.
Result<Descriptor> choose_platform(const Index& idx, const Platform& want);

// Serializes a manifest (OCI when m.media_type is the OCI type or empty, else Docker).
std::string manifest_json(const Manifest& m);
std::string index_json(const Index& idx);

}  // namespace berth::image
