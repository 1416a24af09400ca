// Network records: the default network, create, list, inspect, remove, prune.
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "net/detail.h"
#include "net/ipam.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/ruleset.h"

namespace berth::net {

Manager::Manager(Config config) : cfg_(std::move(config)), store_(cfg_.dir) {}

namespace detail {

Result<Subnet> free_subnet(const Config& c, const std::vector<NetworkRecord>& nets,
                           bool random_pick) {
  std::vector<Subnet> taken;
  for (const auto& n : nets) taken.push_back(n.subnet);
  Netlink nl = BERTH_TRY(Netlink::open());
  for (const auto& r : BERTH_TRY(nl.routes())) taken.push_back(r);
  if (!c.default_subnet.empty()) taken.push_back(BERTH_TRY(parse_subnet(c.default_subnet)));
  // The main store's default network, even when its bridge is not there right now.
  taken.push_back(BERTH_TRY(parse_subnet(Config{}.default_subnet)));
  Subnet pool = BERTH_TRY(parse_subnet(c.pool));
  if (!random_pick) return pick_subnet(pool, c.pool_prefix, taken);
  // Stores other than the main one (tests, several roots) each pick their default subnet;
  // a random free one makes two of them starting at once unlikely to meet.
  uint64_t count = uint64_t{1} << (c.pool_prefix - pool.prefix);
  uint64_t start = std::stoull(random_id().substr(0, 12), nullptr, 16) % count;
  uint32_t step = static_cast<uint32_t>(uint64_t{1} << (32 - c.pool_prefix));
  for (uint64_t i = 0; i < count; ++i) {
    Subnet s{Ipv4{pool.base.v + static_cast<uint32_t>((start + i) % count) * step}, c.pool_prefix};
    bool clash = false;
    for (const auto& t : taken) clash = clash || s.overlaps(t);
    if (!clash) return s;
  }
  return pick_subnet(pool, c.pool_prefix, taken);
}

Result<std::vector<NetworkRecord>> load_networks(const Config& c, const Store& s) {
  std::vector<NetworkRecord> nets = BERTH_TRY(s.networks());
  for (const auto& n : nets)
    if (n.is_default) return nets;
  NetworkRecord d;
  d.id = random_id();
  d.name = c.default_name;
  d.bridge = c.default_bridge;
  if (!c.default_subnet.empty()) {
    d.subnet = BERTH_TRY(parse_subnet(c.default_subnet));
  } else {
    d.subnet = BERTH_TRY(free_subnet(c, nets, true));
  }
  d.gateway = BERTH_TRY(gateway_for(d.subnet, Ipv4{}));
  d.dns = false;  // as Docker's default bridge: no names, the host's resolvers
  d.is_default = true;
  d.created = clock::now_rfc3339_seconds();
  BERTH_CHECK(s.put_network(d));
  nets.push_back(d);
  return nets;
}

Result<NetworkRecord> find_network(const std::vector<NetworkRecord>& nets,
                                   const std::string& name_or_id, const Config& c) {
  std::string want = name_or_id.empty() ? c.default_name : name_or_id;
  for (const auto& n : nets)
    if (n.name == want || n.id == want) return n;
  const NetworkRecord* prefix = nullptr;
  if (want.size() >= 3) {
    for (const auto& n : nets) {
      if (n.id.rfind(want, 0) != 0) continue;
      if (prefix) return fail(invalid("network id prefix {:?} is ambiguous", want));
      prefix = &n;
    }
  }
  if (prefix) return *prefix;
  return fail(make_error(ErrorKind::kNotFound, "network {:?} not found", want));
}

}  // namespace detail

Result<NetworkRecord> Manager::create(const CreateOptions& o) {
  if (!detail::valid_name(o.name))
    return fail(invalid("network name {:?}: use letters, digits, '_', '.', '-'", o.name));
  if (o.name == "none" || o.name == "host" || o.name == cfg_.default_name)
    return fail(invalid("network name {:?} is reserved", o.name));
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  for (const auto& n : nets)
    if (n.name == o.name)
      return fail(make_error(ErrorKind::kAlreadyExists, "network {:?} already exists", o.name));

  NetworkRecord n;
  if (!o.subnet.empty()) {
    // Routes of the host, except those of berth's own bridges.
    std::set<std::string> ours;
    for (const auto& x : nets) ours.insert(x.subnet.str());
    Netlink nl = BERTH_TRY(Netlink::open());
    std::vector<Subnet> host_routes;
    for (const auto& r : BERTH_TRY(nl.routes()))
      if (!ours.contains(r.str())) host_routes.push_back(r);
    n.subnet = BERTH_TRY(parse_subnet(o.subnet));
    for (const auto& other : nets)
      if (other.subnet.overlaps(n.subnet))
        return fail(make_error(ErrorKind::kAlreadyExists, "subnet {} overlaps network {:?} ({})",
                               n.subnet.str(), other.name, other.subnet.str()));
    for (const auto& r : host_routes)
      if (r.overlaps(n.subnet))
        return fail(make_error(ErrorKind::kAlreadyExists,
                               "subnet {} overlaps the host's route to {}", n.subnet.str(),
                               r.str()));
  } else {
    n.subnet = BERTH_TRY(detail::free_subnet(cfg_, nets, false));
  }
  Ipv4 gw{};
  if (!o.gateway.empty()) gw = BERTH_TRY(parse_ipv4(o.gateway));
  n.gateway = BERTH_TRY(gateway_for(n.subnet, gw));
  n.id = detail::random_id();
  n.name = o.name;
  n.bridge = "berth-" + n.id.substr(0, 8);
  n.internal = o.internal;
  n.dns = true;
  n.created = clock::now_rfc3339_seconds();
  // Only a record: its bridge and rules come with its first container.
  BERTH_CHECK(store_.put_network(n));
  return n;
}

namespace {

EndpointInfo info_of(const EndpointRecord& e) {
  return EndpointInfo{e.container_id,
                      e.container_name,
                      e.ifname,
                      e.ip,
                      e.mac,
                      e.ports,
                      std::string(endpoint_state_name(e.state))};
}

}  // namespace

Result<std::vector<NetworkInfo>> Manager::list() {
  std::vector<NetworkRecord> nets;
  {
    auto lock = BERTH_TRY(store_.lock());
    nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  }
  std::vector<NetworkInfo> out;
  for (auto& n : nets) {
    NetworkInfo i{n, {}};
    for (const auto& e : BERTH_TRY(store_.endpoints(n.id))) i.endpoints.push_back(info_of(e));
    out.push_back(std::move(i));
  }
  std::sort(out.begin(), out.end(), [](const NetworkInfo& a, const NetworkInfo& b) {
    if (a.net.is_default != b.net.is_default) return a.net.is_default;
    return a.net.name < b.net.name;
  });
  return out;
}

Result<NetworkInfo> Manager::inspect(const std::string& name_or_id) {
  std::vector<NetworkRecord> nets;
  {
    auto lock = BERTH_TRY(store_.lock());
    nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  }
  NetworkInfo i{BERTH_TRY(detail::find_network(nets, name_or_id, cfg_)), {}};
  for (const auto& e : BERTH_TRY(store_.endpoints(i.net.id))) i.endpoints.push_back(info_of(e));
  return i;
}

namespace {

Result<void> remove_locked(const Config& c, const Store& s, std::vector<NetworkRecord>& nets,
                           const NetworkRecord& n) {
  auto eps = BERTH_TRY(s.endpoints(n.id));
  if (!eps.empty()) {
    std::vector<std::string> who;
    for (const auto& e : eps)
      who.push_back(e.container_name.empty() ? e.container_id.substr(0, 12) : e.container_name);
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "network {:?} is in use by {} container(s): {}", n.name, eps.size(),
                           fmt::join(who, ", ")));
  }
  BERTH_CHECK(detail::stop_responder(s, n.id));
  BERTH_CHECK(detail::remove_bridge(c, n));
  BERTH_CHECK(s.remove_network(n.id));
  std::erase_if(nets, [&](const NetworkRecord& x) { return x.id == n.id; });
  return detail::sync(c, s, nets);
}

}  // namespace

Result<void> Manager::remove(const std::string& name_or_id) {
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  NetworkRecord n = BERTH_TRY(detail::find_network(nets, name_or_id, cfg_));
  if (n.is_default)
    return fail(make_error(ErrorKind::kFailedPrecondition,
                           "{:?} is the default network and cannot be removed", n.name));
  return remove_locked(cfg_, store_, nets, n);
}

Result<std::vector<std::string>> Manager::prune() {
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  std::vector<std::string> removed;
  for (const auto& n : std::vector<NetworkRecord>(nets)) {
    if (!BERTH_TRY(store_.endpoints(n.id)).empty()) continue;
    if (n.is_default) {
      // The default network stays, but an idle one gives back its bridge and rules (they
      // come back with its next container).
      BERTH_CHECK(detail::stop_responder(store_, n.id));
      BERTH_CHECK(detail::remove_bridge(cfg_, n));
      continue;
    }
    BERTH_CHECK(remove_locked(cfg_, store_, nets, n));
    removed.push_back(n.name);
  }
  BERTH_CHECK(detail::sync(cfg_, store_, nets));
  return removed;
}

Result<void> Manager::destroy_all() {
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(store_.networks());
  for (const auto& id : detail::responder_ids(store_))
    BERTH_CHECK(detail::stop_responder(store_, id));
  Netlink nl = BERTH_TRY(Netlink::open());
  std::string tag = detail::link_tag(cfg_);
  for (const auto& l : BERTH_TRY(nl.links())) {
    if (l.alias.rfind(tag, 0) != 0) continue;
    auto r = nl.delete_link(l.index);
    if (!r && r.error().kind() != ErrorKind::kNotFound) return r;
  }
  for (const auto& n : nets) BERTH_CHECK(detail::remove_bridge(cfg_, n));
  BERTH_CHECK(nft::run(delete_table_script(cfg_.table)));
  for (const auto& e : BERTH_TRY(store_.all_endpoints()))
    BERTH_CHECK(store_.remove_endpoint(e.network_id, e.container_id));
  for (const auto& n : nets) BERTH_CHECK(store_.remove_network(n.id));
  (void)::unlink((store_.dns_dir() + "/records").c_str());
  return {};
}

}  // namespace berth::net
