#include "net/ipam.h"

namespace berth::net {

namespace {

bool reserved(const Subnet& s, Ipv4 gw, Ipv4 ip) {
  return ip == s.base || ip == s.broadcast() || ip == gw;
}

}  // namespace

Result<Ipv4> allocate_ip(const Subnet& subnet, Ipv4 gateway, const std::set<Ipv4>& used,
                         Ipv4 after) {
  uint64_t hosts = subnet.size();
  uint64_t start = subnet.contains(after) ? (after.v - subnet.base.v) % hosts : 0;
  for (uint64_t i = 1; i < hosts; ++i) {
    uint64_t n = (start + i) % hosts;
    if (n == 0 || n + 1 == hosts) continue;  // network and broadcast addresses
    Ipv4 ip = subnet.host(static_cast<uint32_t>(n));
    if (!reserved(subnet, gateway, ip) && !used.contains(ip)) return ip;
  }
  return fail(make_error(ErrorKind::kUnavailable, "no free address left in {}", subnet.str()));
}

Result<Ipv4> claim_ip(const Subnet& subnet, Ipv4 gateway, const std::set<Ipv4>& used, Ipv4 want) {
  if (!subnet.contains(want))
    return fail(invalid("address {} is not in the network's subnet {}", want.str(), subnet.str()));
  if (reserved(subnet, gateway, want))
    return fail(invalid("address {} is reserved in {}", want.str(), subnet.str()));
  if (used.contains(want))
    return fail(make_error(ErrorKind::kAlreadyExists, "address {} is already in use", want.str()));
  return want;
}

Result<Subnet> pick_subnet(const Subnet& pool, int prefix, const std::vector<Subnet>& taken) {
  if (prefix < pool.prefix || prefix > 30)
    return fail(invalid("cannot cut /{} subnets from {}", prefix, pool.str()));
  uint64_t count = uint64_t{1} << (prefix - pool.prefix);
  uint32_t step = static_cast<uint32_t>(uint64_t{1} << (32 - prefix));
  for (uint64_t i = 0; i < count; ++i) {
    Subnet s{Ipv4{pool.base.v + static_cast<uint32_t>(i) * step}, prefix};
    bool clash = false;
    for (const auto& t : taken) clash = clash || s.overlaps(t);
    if (!clash) return s;
  }
  return fail(
      make_error(ErrorKind::kUnavailable, "no free /{} subnet left in {}", prefix, pool.str()));
}

Result<Ipv4> gateway_for(const Subnet& subnet, Ipv4 gateway) {
  if (subnet.prefix > 30)
    return fail(invalid("subnet {} is too small (at most /30)", subnet.str()));
  if (gateway.v == 0) return subnet.host(1);
  if (!subnet.contains(gateway) || gateway == subnet.base || gateway == subnet.broadcast())
    return fail(invalid("gateway {} is not a host address of {}", gateway.str(), subnet.str()));
  return gateway;
}

}  // namespace berth::net
