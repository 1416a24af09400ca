#include "registry/config.h"

#include "base/file.h"
#include "image/json_util.h"
#include "oci/json_read.h"

namespace berth::registry {

using oci::jr::Obj;

Result<RegistryConfig> RegistryConfig::load(const std::string& path) {
  if (path.empty() || !file::exists(path)) return RegistryConfig{};
  std::string text = BERTH_TRY(file::read(path));
  return ::berth::image::parse_untrusted(text, path, [](const Obj& o) {
    RegistryConfig c;
    c.default_registry = o.string("default_registry", false, c.default_registry);
    c.auth_file = o.string("auth_file");
    if (o.has("max_parallel_downloads")) {
      c.max_parallel_downloads = static_cast<int>(o.u64_max("max_parallel_downloads", 64));
      if (c.max_parallel_downloads < 1) c.max_parallel_downloads = 1;
    }
    c.push_chunk_size = o.i64("push_chunk_size");
    if (auto regs = o.object("registries")) {
      for (const auto& host : regs->keys()) {
        auto h = regs->object(host.c_str(), true);
        HostSettings s;
        s.insecure = h->boolean("insecure");
        s.mirrors = h->strings("mirrors");
        c.registries[host] = s;
      }
    }
    return c;
  });
}

bool is_loopback_host(const std::string& host) {
  std::string h =
      host.substr(0, host.rfind(':') == std::string::npos || host.front() == '[' ? host.size()
                                                                                 : host.rfind(':'));
  return h == "localhost" || h.rfind("127.", 0) == 0 || h == "[::1]";
}

HostSettings RegistryConfig::settings(const std::string& registry) const {
  auto it = registries.find(registry);
  if (it != registries.end()) return it->second;
  HostSettings s;
  s.insecure = is_loopback_host(registry);
  return s;
}

std::vector<Endpoint> RegistryConfig::endpoints(const std::string& registry, bool for_pull) const {
  std::vector<Endpoint> out;
  auto make = [&](const std::string& host, bool mirror) {
    HostSettings s = settings(host);
    std::string h = host == "docker.io" ? "registry-1.docker.io" : host;
    out.push_back({host, (s.insecure ? "http://" : "https://") + h, !s.insecure, mirror});
  };
  if (for_pull)
    for (const auto& m : settings(registry).mirrors) make(m, true);
  make(registry, false);
  return out;
}

}  // namespace berth::registry
