#include "registry/client.h"

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "image/json_util.h"
#include "image/manifest.h"

namespace berth::registry {

using image::Digest;

namespace {

constexpr const char* kAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

ErrorKind status_kind(long status) {
  if (status == 404) return ErrorKind::kNotFound;
  if (status == 401 || status == 403) return ErrorKind::kPermissionDenied;
  if (status == 400) return ErrorKind::kInvalidArgument;
  return ErrorKind::kUnavailable;
}

Error status_error(const HttpRequest& req, const HttpResponse& r) {
  return make_error(status_kind(r.status), "{} {}: HTTP {}{}", req.method, req.url, r.status,
                    registry_error_text(r));
}

std::string with_query(const std::string& url, const std::string& q) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + q;
}

}  // namespace

std::string registry_error_text(const HttpResponse& r) {
  nlohmann::json j = ::berth::image::parse_json(r.body);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array())
    return "";
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", "");
    std::string msg = e.value("message", "");
    out += " (" + code + (msg.empty() ? "" : ": " + msg) + ")";
  }
  return out;
}

Client::Client(const RegistryConfig& cfg, std::optional<Credential> cred, image::Reference repo,
               bool push)
    : cfg_(cfg), cred_(std::move(cred)), ref_(std::move(repo)), push_(push) {
  endpoints_ = cfg_.endpoints(ref_.registry, !push_);
}

std::string Client::url(const std::string& path) const {
  return endpoints_[ep_].base_url + "/v2/" + ref_.repository + path;
}

Result<void> Client::authenticate(const HttpResponse& resp, const std::string& scope_extra) {
  std::string header = resp.header("www-authenticate");
  if (header.empty())
    return fail(make_error(ErrorKind::kPermissionDenied, "registry {} refused access (HTTP 401)",
                           ref_.registry));
  Challenge ch = BERTH_TRY(parse_challenge(header));
  if (ch.scheme == "basic") {
    if (!cred_)
      return fail(make_error(ErrorKind::kPermissionDenied,
                             "registry {} needs a login (berth login {})", ref_.registry,
                             ref_.registry));
    std::lock_guard l(mu_);
    auth_header_ = "Authorization: Basic " + base64_encode(cred_->username + ":" + cred_->password);
    return {};
  }
  if (ch.scheme != "bearer")
    return fail(make_error(ErrorKind::kUnavailable, "registry {}: unsupported auth scheme {:?}",
                           ref_.registry, ch.scheme));
  std::string realm = ch.params["realm"];
  if (realm.empty())
    return fail(invalid("registry {}: bearer challenge without realm", ref_.registry));
  std::string q = "service=" + url_escape(ch.params["service"]);
  std::string scope = ch.params.count("scope")
                          ? ch.params["scope"]
                          : "repository:" + ref_.repository + (push_ ? ":pull,push" : ":pull");
  if (push_ && scope.find("push") == std::string::npos)
    scope = "repository:" + ref_.repository + ":pull,push";
  q += "&scope=" + url_escape(scope);
  if (!scope_extra.empty()) q += "&scope=" + url_escape(scope_extra);
  HttpRequest tr;
  tr.url = with_query(realm, q);
  tr.tls_verify = endpoints_[ep_].tls_verify || realm.rfind("https://", 0) != 0;
  if (cred_)
    tr.headers.push_back("Authorization: Basic " +
                         base64_encode(cred_->username + ":" + cred_->password));
  thread_local HttpClient http;
  HttpResponse tok = BERTH_TRY(http.perform(tr));
  if (tok.status != 200)
    return fail(
        make_error(ErrorKind::kPermissionDenied, "token from {}: HTTP {}", realm, tok.status));
  nlohmann::json j = ::berth::image::parse_json(tok.body);
  std::string token;
  if (j.is_object()) {
    if (j.contains("token") && j["token"].is_string())
      token = j["token"];
    else if (j.contains("access_token") && j["access_token"].is_string())
      token = j["access_token"];
  }
  if (token.empty()) return fail(invalid("token from {}: no token in the reply", realm));
  std::lock_guard l(mu_);
  auth_header_ = "Authorization: Bearer " + token;
  return {};
}

Result<HttpResponse> Client::send(HttpRequest req, const std::string& scope_extra) {
  thread_local HttpClient http;
  req.tls_verify = endpoints_[ep_].tls_verify;
  std::vector<std::string> base_headers = req.headers;
  for (int attempt = 0;; ++attempt) {
    req.headers = base_headers;
    {
      std::lock_guard l(mu_);
      if (!auth_header_.empty()) req.headers.push_back(auth_header_);
    }
    HttpResponse r = BERTH_TRY(http.perform(req));
    if (r.status != 401 || attempt > 0) return r;
    BERTH_CHECK(authenticate(r, scope_extra));
  }
}

Result<void> Client::ping() {
  HttpRequest req;
  req.url = endpoints_[ep_].base_url + "/v2/";
  HttpResponse r = BERTH_TRY(send(req));
  if (r.status != 200) return fail(status_error(req, r));
  return {};
}

Result<FetchedManifest> Client::get_manifest(const std::string& ref) {
  std::optional<Error> last;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    ep_ = i;
    HttpRequest req;
    req.url = url("/manifests/" + ref);
    req.headers.push_back(kAccept);
    auto r = send(req);
    if (r && r->status == 200) {
      FetchedManifest m;
      m.body = std::move(r->body);
      m.digest = image::sha256_of(m.body);
      m.media_type = r->header("content-type");
      if (size_t semi = m.media_type.find(';'); semi != std::string::npos)
        m.media_type.resize(semi);
      std::string mt = image::detect_media_type(m.body);
      if (!mt.empty() && (m.media_type.empty() || m.media_type == "application/json"))
        m.media_type = mt;
      if (ref.rfind("sha256:", 0) == 0) {
        BERTH_CHECK(image::verify_digest(BERTH_TRY(Digest::parse(ref)), m.digest, "manifest"));
      } else if (auto h = r->header("docker-content-digest"); !h.empty()) {
        auto d = Digest::parse(h);
        if (d && *d != m.digest)
          return fail(make_error(ErrorKind::kFailedPrecondition,
                                 "manifest {}: the registry says {} but the content is {}", ref,
                                 d->str(), m.digest.str()));
      }
      return m;
    }
    last = r ? status_error(req, *r) : std::move(r.error());
    if (endpoints_[i].mirror) log::info("mirror {}: {}", endpoints_[i].host, last->text());
  }
  ep_ = endpoints_.size() - 1;
  return fail(std::move(*last));
}

Result<bool> Client::fetch_blob(const Digest& d, int64_t offset, const BodySink& sink,
                                const std::function<Result<void>()>& on_restart) {
  HttpRequest req;
  req.url = url("/blobs/" + d.str());
  if (offset > 0) req.headers.push_back(fmt::format("Range: bytes={}-", offset));
  req.sink = sink;
  req.max_recv_speed = rate_limit_;
  req.on_status = [&](long status) -> Result<void> {
    if (status == 200 && offset > 0) return on_restart();
    return {};
  };
  HttpResponse r = BERTH_TRY(send(req));
  if (r.status == 416 && offset > 0) return false;
  if (r.status != 200 && r.status != 206) return fail(status_error(req, r));
  return true;
}

Result<std::optional<int64_t>> Client::head_blob(const Digest& d) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = url("/blobs/" + d.str());
  HttpResponse r = BERTH_TRY(send(req));
  if (r.status == 404) return std::optional<int64_t>();
  if (r.status != 200) return fail(status_error(req, r));
  auto len = parse_int(r.header("content-length"));
  return std::optional<int64_t>(len.value_or(-1));
}

Result<std::string> Client::start_upload() {
  HttpRequest req;
  req.method = "POST";
  req.url = url("/blobs/uploads/");
  HttpResponse r = BERTH_TRY(send(req));
  if (r.status != 202) return fail(status_error(req, r));
  std::string loc = r.header("location");
  if (loc.empty()) return fail(invalid("upload to {}: no Location in the reply", req.url));
  return resolve_url(req.url, loc);
}

Result<bool> Client::mount_blob(const Digest& d, const std::string& from_repo) {
  HttpRequest req;
  req.method = "POST";
  req.url = url("/blobs/uploads/?mount=" + url_escape(d.str()) + "&from=" + url_escape(from_repo));
  HttpResponse r = BERTH_TRY(send(req, "repository:" + from_repo + ":pull"));
  if (r.status == 201) return true;
  if (r.status == 202) {
    // The registry opened an upload instead; cancel it.
    if (std::string loc = r.header("location"); !loc.empty()) {
      HttpRequest del;
      del.method = "DELETE";
      del.url = resolve_url(req.url, loc);
      (void)send(del);
    }
    return false;
  }
  return fail(status_error(req, r));
}

Result<void> Client::upload_blob(const Digest& d, int fd, int64_t size, int64_t chunk_size) {
  std::string loc = BERTH_TRY(start_upload());
  int64_t sent = 0;
  if (chunk_size > 0 && size > chunk_size) {
    while (sent < size) {
      int64_t n = std::min(chunk_size, size - sent);
      HttpRequest req;
      req.method = "PATCH";
      req.url = loc;
      req.upload_fd = fd;
      req.upload_offset = sent;
      req.upload_size = n;
      req.headers = {"Content-Type: application/octet-stream",
                     fmt::format("Content-Range: {}-{}", sent, sent + n - 1)};
      HttpResponse r = BERTH_TRY(send(req));
      if (r.status != 202) return fail(status_error(req, r));
      if (std::string l = r.header("location"); !l.empty()) loc = resolve_url(loc, l);
      sent += n;
    }
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_query(loc, "digest=" + url_escape(d.str()));
  put.headers = {"Content-Type: application/octet-stream"};
  if (sent < size) {
    put.upload_fd = fd;
    put.upload_offset = sent;
    put.upload_size = size - sent;
  }
  HttpResponse r = BERTH_TRY(send(put));
  if (r.status != 201) return fail(status_error(put, r));
  return {};
}

Result<Digest> Client::put_manifest(const std::string& ref, const std::string& body,
                                    const std::string& media_type) {
  HttpRequest req;
  req.method = "PUT";
  req.url = url("/manifests/" + ref);
  req.body = body;
  req.headers = {"Content-Type: " + media_type};
  HttpResponse r = BERTH_TRY(send(req));
  if (r.status != 201) return fail(status_error(req, r));
  return image::sha256_of(body);
}

}  // namespace berth::registry
