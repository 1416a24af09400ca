// IPv4 addresses and subnets as values: parse, format, arithmetic. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::net {

struct Ipv4 {
  uint32_t v = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
  std::string str() const;
  bool is_loopback() const { return (v >> 24) == 127; }
};

Result<Ipv4> parse_ipv4(std::string_view s);

struct Subnet {
  Ipv4 base;  // network address (host bits zero)
  int prefix = 0;
  auto operator<=>(const Subnet&) const = default;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip.v & mask()) == base.v; }
  bool overlaps(const Subnet& o) const;
  Ipv4 broadcast() const { return Ipv4{base.v | ~mask()}; }
  // The n-th address of the subnet (0 = the network address).
  Ipv4 host(uint32_t n) const { return Ipv4{base.v + n}; }
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  std::string str() const;
};

// "10.87.0.0/16". Host bits must be zero unless allow_host_bits (then they are cleared).
Result<Subnet> parse_subnet(std::string_view s, bool allow_host_bits = false);

}  // namespace berth::net
