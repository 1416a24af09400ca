// Registry settings: the default registry for short names, and per registry plain-HTTP
// ("insecure") access and pull mirrors. Read from a JSON file (default <root>/config.json):
//
//   {"default_registry": "docker.io",
//    "registries": {"127.0.0.1:5000": {"insecure": true},
//                   "docker.io": {"mirrors": ["mirror.example:5000"]}},
//    "auth_file": "/var/lib/berth/auth.json", "max_parallel_downloads": 4,
//    "push_chunk_size": 0}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::registry {

struct HostSettings {
  bool insecure = false;             // plain HTTP (and no TLS verification)
  std::vector<std::string> mirrors;  // hosts tried first for pulls
};

struct Endpoint {
  std::string host;      // "127.0.0.1:5000"
  std::string base_url;  // "http://127.0.0.1:5000"
  bool tls_verify = true;
  bool mirror = false;
};

struct RegistryConfig {
  std::string default_registry = "docker.io";
  std::map<std::string, HostSettings> registries;
  std::string auth_file;  // empty: <root>/auth.json
  int max_parallel_downloads = 4;
  int64_t push_chunk_size = 0;  // 0: monolithic uploads

  // A missing file gives the defaults.
  static Result<RegistryConfig> load(const std::string& path);
  HostSettings settings(const std::string& registry) const;
  // Where to send requests for registry: mirrors first (pulls only), then the registry.
  std::vector<Endpoint> endpoints(const std::string& registry, bool for_pull) const;
};

// Loopback hosts are plain HTTP unless configured otherwise (as Docker treats 127.0.0.0/8).
bool is_loopback_host(const std::string& host);

}  // namespace berth::registry
