#include "registry/http.h"

// Only the types and constants of curl.h: the functions come from dynlib (see base/dynlib.h).
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <mutex>
#include <optional>

#include "base/dynlib.h"
#include "base/strings.h"

namespace berth::registry {
namespace {

// libcurl's functions, loaded with the library on first use.
struct CurlApi {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

// The loaded API (curl_global_init done), or why libcurl could not be loaded.
const Result<const CurlApi*>& curl_api() {
  static const Result<const CurlApi*> api = []() -> Result<const CurlApi*> {
    static CurlApi a;
    auto slot = [](auto& f) { return reinterpret_cast<void**>(&f); };
    BERTH_CHECK(dynlib::resolve("libcurl.so.4", {{"curl_global_init", slot(a.global_init)},
                                                 {"curl_easy_init", slot(a.easy_init)},
                                                 {"curl_easy_cleanup", slot(a.easy_cleanup)},
                                                 {"curl_easy_reset", slot(a.easy_reset)},
                                                 {"curl_easy_setopt", slot(a.easy_setopt)},
                                                 {"curl_easy_getinfo", slot(a.easy_getinfo)},
                                                 {"curl_easy_perform", slot(a.easy_perform)},
                                                 {"curl_easy_strerror", slot(a.easy_strerror)},
                                                 {"curl_slist_append", slot(a.slist_append)},
                                                 {"curl_slist_free_all", slot(a.slist_free_all)}}));
    a.global_init(CURL_GLOBAL_DEFAULT);
    return &a;
  }();
  return api;
}

struct Transfer {
  const HttpRequest* req;
  HttpResponse* resp;
  std::optional<Error> error;
  size_t body_pos = 0;
  int64_t upload_pos = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* ctx) {
  auto* t = static_cast<Transfer*>(ctx);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after a redirect or 100-continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->resp->headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* ctx) {
  auto* t = static_cast<Transfer*>(ctx);
  // The sink gets only a successful body; errors are kept for their message.
  if (t->req->sink && t->resp->status >= 200 && t->resp->status < 300) {
    auto r = t->req->sink(data, size * n);
    if (!r) {
      t->error = std::move(r.error());
      return 0;
    }
    return size * n;
  }
  if (t->resp->body.size() < (64u << 20)) t->resp->body.append(data, size * n);
  return size * n;
}

size_t on_read(char* buf, size_t size, size_t n, void* ctx) {
  auto* t = static_cast<Transfer*>(ctx);
  size_t want = size * n;
  if (t->req->upload_fd >= 0) {
    int64_t left = t->req->upload_size - t->upload_pos;
    if (left <= 0) return 0;
    want = std::min(want, static_cast<size_t>(left));
    ssize_t k = pread(t->req->upload_fd, buf, want, t->req->upload_offset + t->upload_pos);
    if (k < 0) return CURL_READFUNC_ABORT;
    t->upload_pos += k;
    return static_cast<size_t>(k);
  }
  size_t left = t->req->body.size() - t->body_pos;
  want = std::min(want, left);
  memcpy(buf, t->req->body.data() + t->body_pos, want);
  t->body_pos += want;
  return want;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient() {
  if (const auto& api = curl_api(); api) curl_ = (*api)->easy_init();
}

HttpClient::~HttpClient() {
  if (curl_) (*curl_api())->easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& req) {
  const CurlApi& curl = *BERTH_TRY(curl_api());
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return fail(make_error(ErrorKind::kInternal, "curl_easy_init failed"));
  curl.easy_reset(c);
  HttpResponse resp;
  Transfer t{&req, &resp};
  curl.easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 KB/s for 60 s) fails rather than hangs.
  curl.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (req.max_recv_speed > 0)
    curl.easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(req.max_recv_speed));
  if (req.timeout_s > 0) curl.easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_s);
  curl.easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
  curl.easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (!req.tls_verify) {
    curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_slist* hdrs = nullptr;
  for (const auto& h : req.headers) hdrs = curl.slist_append(hdrs, h.c_str());
  if (req.method == "HEAD") {
    curl.easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "PATCH" || req.method == "POST") {
    int64_t len = req.upload_fd >= 0 ? req.upload_size : static_cast<int64_t>(req.body.size());
    curl.easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(len));
    curl.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl.easy_setopt(c, CURLOPT_READDATA, &t);
    curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    hdrs = curl.slist_append(hdrs, "Expect:");
  } else if (req.method != "GET") {
    curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  // The status must be known before body bytes reach the sink: ask curl in the write path.
  struct StatusHook {
    static size_t write(char* d, size_t s, size_t n, void* ctx) {
      auto* pair = static_cast<std::pair<CURL*, Transfer*>*>(ctx);
      Transfer* t = pair->second;
      if (t->resp->status == 0) {
        (*curl_api())->easy_getinfo(pair->first, CURLINFO_RESPONSE_CODE, &t->resp->status);
        if (t->req->on_status) {
          auto r = t->req->on_status(t->resp->status);
          if (!r) {
            t->error = std::move(r.error());
            return 0;
          }
        }
      }
      return on_body(d, s, n, pair->second);
    }
  };
  std::pair<CURL*, Transfer*> hook{c, &t};
  curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, StatusHook::write);
  curl.easy_setopt(c, CURLOPT_WRITEDATA, &hook);
  CURLcode rc = curl.easy_perform(c);
  curl.slist_free_all(hdrs);
  if (t.error) return fail(std::move(*t.error));
  if (rc != CURLE_OK)
    return fail(make_error(ErrorKind::kUnavailable, "{} {}: {}", req.method, req.url,
                           curl.easy_strerror(rc)));
  curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::string resolve_url(const std::string& base, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  size_t scheme = base.find("://");
  size_t host_end = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin = host_end == std::string::npos ? base : base.substr(0, host_end);
  if (!location.empty() && location[0] == '/') return origin + location;
  size_t last = base.rfind('/');
  return base.substr(0, last + 1) + location;
}

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace berth::registry
