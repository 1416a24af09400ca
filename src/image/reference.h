// Image references as Docker users write them: "busybox", "busybox:1.36",
// "host:5000/ns/app:tag", "app@sha256:<hex>", normalized to registry/repository[:tag][@digest].
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "image/digest.h"

namespace berth::image {

inline constexpr std::string_view kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when only a digest was given
  Digest digest;           // empty unless "@sha256:..." was given

  // registry/repository
  std::string name() const;
  // The normalized full text: "docker.io/library/busybox:latest" (with @digest when set).
  std::string str() const;
  // The short form Docker prints: "busybox:latest", "127.0.0.1:5000/app:v1".
  std::string familiar() const;
  // The key images are recorded under: name:tag, or name@digest for digest-only references.
  std::string record_key() const;
};

// Parses s. A name without a registry gets default_registry; on Docker Hub a single-component
// name gets "library/". A name without tag or digest gets ":latest".
Result<Reference> parse_reference(std::string_view s,
                                  std::string_view default_registry = kDockerHub);

// A repository name alone ("ns/app" or "host:5000/ns/app"), no tag or digest allowed.
Result<Reference> parse_repository(std::string_view s,
                                   std::string_view default_registry = kDockerHub);

bool valid_tag(std::string_view tag);

}  // namespace berth::image
