// A distribution-spec v2 client for one repository: manifests, blobs (ranged GETs, HEAD,
// monolithic and chunked uploads, cross-repository mounts), with anonymous, basic and
// bearer-token authentication driven by the registry's WWW-Authenticate challenges.
// Safe to use from several threads (each thread gets its own connection).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/digest.h"
#include "image/reference.h"
#include "registry/auth.h"
#include "registry/config.h"
#include "registry/http.h"

namespace berth::registry {

struct FetchedManifest {
  std::string body;
  std::string media_type;
  image::Digest digest;  // of body
};

class Client {
 public:
  // push: ask for push rights (and pull on mount sources).
  Client(const RegistryConfig& cfg, std::optional<Credential> cred, image::Reference repo,
         bool push);

  const image::Reference& ref() const { return ref_; }
  // tag or "sha256:..."; verifies the digest when asked by digest.
  Result<FetchedManifest> get_manifest(const std::string& tag_or_digest);
  // Streams a blob from offset into sink. on_restart is called when the registry ignored the
  // Range and sends the whole blob (the caller drops what it had). Returns false when the
  // offset is already the end (HTTP 416).
  Result<bool> fetch_blob(const image::Digest& d, int64_t offset, const BodySink& sink,
                          const std::function<Result<void>()>& on_restart);
  // The blob's size when the registry has it.
  Result<std::optional<int64_t>> head_blob(const image::Digest& d);
  // Tries a cross-repository mount; true when the registry mounted it.
  Result<bool> mount_blob(const image::Digest& d, const std::string& from_repo);
  // Uploads size bytes of fd as blob d: one PUT when chunk_size is 0 or larger than the blob,
  // else PATCH chunks then the closing PUT.
  Result<void> upload_blob(const image::Digest& d, int fd, int64_t size, int64_t chunk_size);
  Result<image::Digest> put_manifest(const std::string& tag_or_digest, const std::string& body,
                                     const std::string& media_type);
  // Limits blob downloads to bytes/s each (tests, shared links); 0: no limit.
  void set_rate_limit(int64_t bytes_per_s) { rate_limit_ = bytes_per_s; }
  // Checks the credentials against the registry's /v2/ endpoint (berth login).
  Result<void> ping();

 private:
  Result<HttpResponse> send(HttpRequest req, const std::string& scope_extra = "");
  Result<void> authenticate(const HttpResponse& challenge_resp, const std::string& scope_extra);
  std::string url(const std::string& path) const;
  Result<std::string> start_upload();

  RegistryConfig cfg_;
  std::optional<Credential> cred_;
  image::Reference ref_;
  bool push_;
  std::vector<Endpoint> endpoints_;
  int64_t rate_limit_ = 0;
  size_t ep_ = 0;  // the endpoint in use
  std::mutex mu_;
  std::string auth_header_;  // "Authorization: ..." once known
};

// Formats an error response body ({"errors":[{"code","message"}]}) for a message.
std::string registry_error_text(const HttpResponse& r);

}  // namespace berth::registry
