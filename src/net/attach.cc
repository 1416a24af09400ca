// attach: a container joins a network. Plan under the lock (address, ports, names, intent
// record), build without it (bridge, veth, addresses, routes: parallel attaches do not wait for
// each other), then commit under the lock (record active, rules, DNS).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <set>

#include "base/clock.h"
#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "net/detail.h"
#include "net/ipam.h"
#include "net/netlink.h"

namespace berth::net {

namespace {

Result<void> check_request(const AttachRequest& r) {
  if (!detail::valid_name(r.container_id) || r.container_id.size() > 64)
    return fail(invalid("container id {:?}: use letters, digits, '_', '.', '-'", r.container_id));
  if (!r.container_name.empty() && !detail::valid_name(r.container_name))
    return fail(
        invalid("container name {:?}: use letters, digits, '_', '.', '-'", r.container_name));
  for (const auto& a : r.aliases)
    if (!detail::valid_name(a)) return fail(invalid("network alias {:?} is not a valid name", a));
  if (!r.ifname.empty() && (r.ifname.size() > 15 || r.ifname.find('/') != std::string::npos))
    return fail(invalid("interface name {:?} is not valid", r.ifname));
  if (r.netns_path.empty()) return fail(invalid("attach {}: no network namespace", r.container_id));
  return {};
}

std::string next_ifname(const std::vector<EndpointRecord>& all, const std::string& cid) {
  std::set<std::string> used;
  for (const auto& e : all)
    if (e.container_id == cid) used.insert(e.ifname);
  for (int i = 0;; ++i)
    if (!used.contains(fmt::format("eth{}", i))) return fmt::format("eth{}", i);
}

// Inside the container's namespace: lo up, the address, the interface up, the default route.
Result<void> configure_inside(int netns_fd, const EndpointRecord& e, const NetworkRecord& n) {
  Netlink nl = BERTH_TRY(Netlink::open_in(netns_fd));
  auto lo = BERTH_TRY(nl.link("lo"));
  if (!lo.up) BERTH_CHECK(nl.set_up(lo.index));
  auto link = BERTH_TRY(nl.link(e.ifname));
  BERTH_CHECK(nl.add_address(link.index, e.ip, n.subnet.prefix));
  BERTH_CHECK(nl.set_up(link.index));
  if (!n.internal) {
    auto r = nl.add_default_route(n.gateway, link.index, detail::uplink_mtu());
    // A second network does not replace the first one's default route.
    if (!r && r.error().kind() != ErrorKind::kAlreadyExists) return r;
  }
  return {};
}

Attachment attachment_of(const EndpointRecord& e, const NetworkRecord& n) {
  Attachment a;
  a.network_id = n.id;
  a.network_name = n.name;
  a.ifname = e.ifname;
  a.ip = e.ip;
  a.prefix = n.subnet.prefix;
  a.gateway = n.internal ? Ipv4{} : n.gateway;
  a.mac = e.mac;
  a.host_veth = e.host_veth;
  a.ports = e.ports;
  a.dns = n.dns ? n.gateway : Ipv4{};
  return a;
}

}  // namespace

Result<Attachment> Manager::attach(const AttachRequest& req) {
  BERTH_CHECK(check_request(req));
  UniqueFd netns(::open(req.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns) return fail(sys_error(errno, "open network namespace {}", req.netns_path));

  // 1. Plan and record the intent.
  EndpointRecord e;
  NetworkRecord n;
  {
    auto lock = BERTH_TRY(store_.lock());
    auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
    n = BERTH_TRY(detail::find_network(nets, req.network, cfg_));
    auto all = BERTH_TRY(store_.all_endpoints());
    std::set<Ipv4> used;
    for (const auto& x : all) {
      if (x.network_id == n.id && x.container_id == req.container_id)
        return fail(make_error(ErrorKind::kAlreadyExists, "container {} is already on network {}",
                               req.container_id, n.name));
      if (x.network_id == n.id) used.insert(x.ip);
    }
    if (req.ip.empty()) {
      e.ip = BERTH_TRY(allocate_ip(n.subnet, n.gateway, used, store_.last_ip(n.id)));
      BERTH_CHECK(store_.set_last_ip(n.id, e.ip));
    } else {
      e.ip = BERTH_TRY(claim_ip(n.subnet, n.gateway, used, BERTH_TRY(parse_ipv4(req.ip))));
    }
    if (!req.ports.empty()) {
      PortFree is_free = BERTH_TRY(detail::port_checker(cfg_, all));
      std::string lr = file::read("/proc/sys/net/ipv4/ip_local_port_range").value_or("");
      unsigned lo = 32768, hi = 60999;
      if (sscanf(lr.c_str(), "%u %u", &lo, &hi) != 2 || lo == 0 || hi > 65535 || hi < lo) {
        lo = 32768;
        hi = 60999;
      }
      auto start = static_cast<uint16_t>(lo + static_cast<unsigned>(getpid() ^ time(nullptr)) %
                                                  (hi - lo + 1));
      e.ports = BERTH_TRY(resolve_ports(req.ports, is_free, static_cast<uint16_t>(lo),
                                        static_cast<uint16_t>(hi), start));
    }
    e.container_id = req.container_id;
    e.container_name = req.container_name;
    e.hostname = req.hostname.empty() ? req.container_id.substr(0, 12) : req.hostname;
    e.aliases = req.aliases;
    e.network_id = n.id;
    e.ifname = req.ifname.empty() ? next_ifname(all, req.container_id) : req.ifname;
    e.host_veth = detail::veth_name(cfg_, n.id, req.container_id);
    uint8_t mac[6];
    mac_for(e.ip, mac);
    e.mac = mac_str(mac);
    e.netns = req.netns_path;
    e.state = EndpointState::kPreparing;
    e.owner_pid = getpid();
    e.owner_start = detail::self_start_time();
    e.created = clock::now_rfc3339_seconds();
    BERTH_CHECK(store_.put_endpoint(e));
  }

  // Undo on any error below: the links, then the record (gc() does the same after a crash).
  Defer undo([&] {
    if (auto r = detail::delete_link(e.host_veth); !r)
      log::warn("undo attach {}: {}", e.container_id, r.error().text());
    auto lock = store_.lock();
    if (!lock) return;
    (void)store_.remove_endpoint(e.network_id, e.container_id);
    if (auto nets = store_.networks(); nets) (void)detail::sync(cfg_, store_, *nets);
  });

  // 2. Build: no lock held.
  BERTH_CHECK_CTX(detail::ensure_bridge(cfg_, n), "network {}", n.name);
  {
    Netlink nl = BERTH_TRY(Netlink::open());
    auto bridge = BERTH_TRY(nl.link(n.bridge));
    uint8_t mac[6];
    mac_for(e.ip, mac);
    BERTH_CHECK(nl.create_veth(e.host_veth, detail::veth_alias(cfg_, n.id, e.container_id),
                               bridge.index, e.ifname, netns.get(), mac,
                               bridge.mtu >= detail::kLinkMtu ? detail::kLinkMtu : 0));
    auto veth = BERTH_TRY(nl.link(e.host_veth));
    BERTH_CHECK(nl.set_hairpin(veth.index));
  }
  BERTH_CHECK_CTX(configure_inside(netns.get(), e, n), "configure {} in {}", e.ifname,
                  req.netns_path);
  if (!n.internal && cfg_.enable_ip_forward)
    BERTH_CHECK(detail::write_sysctl("/proc/sys/net/ipv4/ip_forward", "1"));

  // 3. Commit.
  {
    auto lock = BERTH_TRY(store_.lock());
    auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
    bool still = false;
    for (const auto& x : nets) still = still || x.id == n.id;
    if (!still)
      return fail(make_error(ErrorKind::kNotFound, "network {} was removed meanwhile", n.name));
    e.state = EndpointState::kActive;
    e.owner_pid = 0;
    e.owner_start = 0;
    BERTH_CHECK(store_.put_endpoint(e));
    BERTH_CHECK(detail::sync(cfg_, store_, nets));
  }
  undo.dismiss();
  return attachment_of(e, n);
}

Result<std::vector<Attachment>> Manager::attachments(const std::string& container_id) {
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  std::vector<Attachment> out;
  for (const auto& e : BERTH_TRY(store_.all_endpoints())) {
    if (e.container_id != container_id) continue;
    for (const auto& n : nets)
      if (n.id == e.network_id) out.push_back(attachment_of(e, n));
  }
  std::sort(out.begin(), out.end(),
            [](const Attachment& a, const Attachment& b) { return a.ifname < b.ifname; });
  return out;
}

}  // namespace berth::net
