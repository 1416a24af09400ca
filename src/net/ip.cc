#include "net/ip.h"

#include "base/strings.h"

namespace berth::net {

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

Result<Ipv4> parse_ipv4(std::string_view s) {
  std::vector<std::string> parts = split(s, '.');
  if (parts.size() != 4) return fail(invalid("{:?}: not an IPv4 address", std::string(s)));
  uint32_t v = 0;
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0'))
      return fail(invalid("{:?}: not an IPv4 address", std::string(s)));
    auto n = parse_uint(p);
    if (!n || *n > 255) return fail(invalid("{:?}: not an IPv4 address", std::string(s)));
    v = (v << 8) | static_cast<uint32_t>(*n);
  }
  return Ipv4{v};
}

bool Subnet::overlaps(const Subnet& o) const {
  int p = std::min(prefix, o.prefix);
  uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
  return (base.v & m) == (o.base.v & m);
}

std::string Subnet::str() const { return fmt::format("{}/{}", base.str(), prefix); }

Result<Subnet> parse_subnet(std::string_view s, bool allow_host_bits) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos)
    return fail(invalid("{:?}: expected ADDRESS/PREFIX", std::string(s)));
  Ipv4 ip = BERTH_TRY(parse_ipv4(s.substr(0, slash)));
  auto p = parse_uint(s.substr(slash + 1));
  if (!p || *p > 32 || s.substr(slash + 1).empty())
    return fail(invalid("{:?}: bad prefix length", std::string(s)));
  Subnet sn{ip, static_cast<int>(*p)};
  if ((ip.v & sn.mask()) != ip.v) {
    if (!allow_host_bits)
      return fail(invalid("{:?}: host bits set (did you mean {}/{}?)", std::string(s),
                          Ipv4{ip.v & sn.mask()}.str(), *p));
    sn.base.v = ip.v & sn.mask();
  }
  return sn;
}

}  // namespace berth::net
