// Names, tags and ids of what berth creates.
#include <sys/random.h>

#include <cctype>

#include "net/detail.h"

namespace berth::net::detail {

std::string link_tag(const Config& c) { return "berth " + c.table + " "; }

std::string bridge_alias(const Config& c, const std::string& net_id) {
  return link_tag(c) + "bridge " + net_id;
}

std::string veth_alias(const Config& c, const std::string& net_id, const std::string& cid) {
  return link_tag(c) + "veth " + net_id + " " + cid;
}

std::string veth_name(const Config& c, const std::string& net_id, const std::string& cid) {
  // FNV-1a, 64 bits: stable across processes and versions (std::hash is neither).
  uint64_t h = 1469598103934665603ull;
  for (const std::string* s : {&c.dir, &net_id, &cid}) {
    for (unsigned char ch : *s) {
      h ^= ch;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return fmt::format("vb{:010x}", h & 0xffffffffffull);
}

std::string random_id() {
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string s;
  for (unsigned char c : b) s += fmt::format("{:02x}", c);
  return s;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace berth::net::detail

namespace berth::net {

Config Config::for_root(const std::string& root) {
  Config c;
  c.dir = root + "/networks";
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (clean == "/var/lib/berth") return c;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : clean) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  std::string tag = fmt::format("{:08x}", h & 0xffffffffull);
  c.table = "berth_" + tag;
  c.default_bridge = "berth" + tag;
  c.default_subnet = "";
  return c;
}

}  // namespace berth::net
