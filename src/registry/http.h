// A small HTTP client over libcurl for the registry protocol: one connection cache per
// HttpClient (one per thread), streaming response bodies into a sink, uploads from memory or a
// file range, and response headers with lowercase names.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::registry {

// Receives body bytes as they arrive; an error aborts the transfer.
using BodySink = std::function<Result<void>(const char* data, size_t n)>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Request body: either body (in memory) or upload_fd from upload_offset, upload_size bytes.
  std::string_view body;
  int upload_fd = -1;
  int64_t upload_offset = 0;
  int64_t upload_size = 0;
  // When set, the response body goes here (only for 2xx responses); else into response.body.
  BodySink sink;
  // Called once with the final status before the first body byte reaches sink.
  std::function<Result<void>(long status)> on_status;
  bool tls_verify = true;
  int64_t max_recv_speed = 0;  // bytes/s, 0: unlimited
  long timeout_s = 0;          // 0: none (large blobs); the connection has its own timeout
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names; the last value wins
  std::string body;
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  Result<HttpResponse> perform(const HttpRequest& req);

 private:
  void* curl_;
};

// Resolves a possibly relative Location header against the request URL.
std::string resolve_url(const std::string& base, const std::string& location);
std::string url_escape(std::string_view s);

}  // namespace berth::registry
