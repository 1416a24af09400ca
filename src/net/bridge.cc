// A network's Linux bridge, made on first use.
#include <fcntl.h>
#include <unistd.h>

#include "base/file.h"
#include "base/strings.h"
#include "net/detail.h"
#include "net/netlink.h"

namespace berth::net::detail {

Result<void> write_sysctl(const std::string& path, std::string_view value) {
  auto cur = file::read(path);
  if (cur && trim(*cur) == value) return {};
  return file::write(path, value);
}

namespace {

constexpr int kNetAddrSet = 3;  // NET_ADDR_SET in /sys/class/net/<link>/addr_assign_type

// A bridge made before berth gave bridges a MAC keeps the one it has now: set to itself, the
// MAC stops following the ports and no container sees it change.
Result<void> pin_mac(Netlink& nl, const LinkInfo& br) {
  auto t = file::read(fmt::format("/sys/class/net/{}/addr_assign_type", br.name));
  auto type = t ? parse_int(trim(*t)) : std::nullopt;
  if (!type || *type == kNetAddrSet || br.mac == std::array<uint8_t, 6>{}) return {};
  return nl.set_mac(br.index, br.mac.data());
}

}  // namespace

Result<void> ensure_bridge(const Config& c, const NetworkRecord& n) {
  Netlink nl = BERTH_TRY(Netlink::open());
  std::string alias = bridge_alias(c, n.id);
  auto link = nl.link(n.bridge);
  if (!link && link.error().kind() == ErrorKind::kNotFound) {
    // The bridge's MAC must never change while containers use it. They keep the gateway's
    // MAC in their neighbour caches (REACHABLE for 15-45 s, then unicast probes to the same
    // MAC) and the host drops frames sent to a MAC that is no longer the bridge's
    // (PACKET_OTHERHOST): a change cuts every container off the gateway (the DNS responder,
    // published ports, the way out) for seconds. A bridge whose MAC was never set takes the
    // lowest MAC of its ports, and host-side veths have random ones, so one attach or detach
    // in a few changed it. Given one, it keeps it: 02:42 + the gateway's address, as
    // containers have 02:42 + theirs (no container has the gateway's address).
    uint8_t mac[6];
    mac_for(n.gateway, mac);
    auto made = nl.create_bridge(n.bridge, alias, mac, kLinkMtu);
    if (!made && made.error().kind() != ErrorKind::kAlreadyExists)  // another process won
      return fail(std::move(made.error()));
    link = nl.link(n.bridge);
  }
  if (!link) return fail(std::move(link.error()));
  if (link->alias.empty() && link->kind == "bridge") {
    // Made by a berth process that died before it could tag it (or by another one just now).
    BERTH_CHECK(nl.set_alias(link->index, alias));
    link->alias = alias;
  }
  if (link->alias != alias || link->kind != "bridge")
    return fail(make_error(ErrorKind::kAlreadyExists,
                           "interface {} exists and is not this network's bridge", n.bridge));
  BERTH_CHECK_CTX(pin_mac(nl, *link), "bridge {}", n.bridge);
  auto addr = nl.add_address(link->index, n.gateway, n.subnet.prefix);
  if (!addr && addr.error().kind() != ErrorKind::kAlreadyExists)
    return fail(std::move(addr.error()));
  // Published ports reached from 127.0.0.1 are routed out of the bridge with that source.
  BERTH_CHECK(
      write_sysctl(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", n.bridge), "1"));
  if (!link->up) BERTH_CHECK(nl.set_up(link->index));
  return {};
}

uint32_t uplink_mtu() {
  // /proc/net/route: Iface Destination Gateway ...; the default route has destination 0.
  auto text = file::read("/proc/net/route");
  if (text) {
    for (const auto& line : split(*text, '\n')) {
      auto f = split(line, '\t');
      if (f.size() < 2 || f[1] != "00000000") continue;
      auto mtu = file::read(fmt::format("/sys/class/net/{}/mtu", f[0]));
      auto v = mtu ? parse_int(trim(*mtu)) : std::nullopt;
      if (v && *v >= 576 && *v <= 65535) return static_cast<uint32_t>(*v);
    }
  }
  return 1500;
}

Result<void> remove_bridge(const Config& c, const NetworkRecord& n) {
  Netlink nl = BERTH_TRY(Netlink::open());
  auto link = nl.link(n.bridge);
  if (!link) {
    if (link.error().kind() == ErrorKind::kNotFound) return {};
    return fail(std::move(link.error()));
  }
  // Ours: tagged so, or untagged (its maker died before tagging it) with our name.
  if (link->alias != bridge_alias(c, n.id) && !(link->alias.empty() && link->kind == "bridge"))
    return {};
  auto r = nl.delete_link(link->index);
  if (!r && r.error().kind() != ErrorKind::kNotFound) return r;
  return {};
}

Result<void> delete_link(const std::string& name) {
  Netlink nl = BERTH_TRY(Netlink::open());
  auto link = nl.link(name);
  if (!link) {
    if (link.error().kind() == ErrorKind::kNotFound) return {};
    return fail(std::move(link.error()));
  }
  auto r = nl.delete_link(link->index);
  if (!r && r.error().kind() != ErrorKind::kNotFound) return r;
  return {};
}

}  // namespace berth::net::detail
