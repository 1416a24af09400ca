// gc: repairs what crashed or killed processes left. Everything berth creates is either
// recorded before it exists (endpoints) or tagged (links carry an IFLA_IFALIAS naming the store
// and the network), so anything without a live owner can be found and removed.
#include <unistd.h>

#include <map>
#include <set>

#include "base/log.h"
#include "net/detail.h"
#include "net/netlink.h"

namespace berth::net {

Result<GcReport> Manager::gc(const IsLive& is_live) {
  GcReport rep;
  auto lock = BERTH_TRY(store_.lock());
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  std::map<std::string, const NetworkRecord*> by_id;
  for (const auto& n : nets) by_id[n.id] = &n;

  Netlink nl = BERTH_TRY(Netlink::open());
  auto links = BERTH_TRY(nl.links());
  std::map<std::string, LinkInfo> by_name;
  for (const auto& l : links) by_name[l.name] = l;

  std::set<std::string> kept_veths;
  for (const auto& e : BERTH_TRY(store_.all_endpoints())) {
    bool dead = false;
    std::string why;
    if (!by_id.contains(e.network_id)) {
      dead = true;
      why = "its network is gone";
    } else if (e.state != EndpointState::kActive) {
      if (e.owner_pid == getpid() || detail::owner_alive(e.owner_pid, e.owner_start)) {
        kept_veths.insert(e.host_veth);
        continue;  // in progress in a live process
      }
      dead = true;
      why = fmt::format("process {} died while it was {}", e.owner_pid,
                        e.state == EndpointState::kPreparing ? "setting it up" : "removing it");
    } else if (!by_name.contains(e.host_veth)) {
      dead = true;
      why = "its namespace is gone";
    } else if (is_live && !is_live(e.container_id)) {
      dead = true;
      why = "its container is not running";
    }
    if (!dead) {
      kept_veths.insert(e.host_veth);
      continue;
    }
    if (auto it = by_name.find(e.host_veth); it != by_name.end()) {
      auto r = nl.delete_link(it->second.index);
      if (!r && r.error().kind() != ErrorKind::kNotFound) return fail(std::move(r.error()));
    }
    BERTH_CHECK(store_.remove_endpoint(e.network_id, e.container_id));
    rep.removed.push_back(
        fmt::format("endpoint {} on {} ({})", e.container_id,
                    by_id.contains(e.network_id) ? by_id[e.network_id]->name : e.network_id, why));
  }

  for (const auto& path : store_.unreadable_endpoints()) {
    ::unlink(path.c_str());
    rep.removed.push_back("unreadable record " + path);
  }

  // Tagged links with no record: a veth whose record is gone, a bridge of a removed network.
  std::string tag = detail::link_tag(cfg_);
  for (const auto& l : links) {
    if (l.alias.rfind(tag, 0) != 0) continue;
    std::string rest = l.alias.substr(tag.size());
    bool orphan = false;
    if (rest.rfind("veth ", 0) == 0) {
      orphan = !kept_veths.contains(l.name);
    } else if (rest.rfind("bridge ", 0) == 0) {
      orphan = !by_id.contains(rest.substr(7));
    }
    if (!orphan) continue;
    auto r = nl.delete_link(l.index);
    if (!r && r.error().kind() != ErrorKind::kNotFound) return fail(std::move(r.error()));
    rep.removed.push_back(fmt::format("link {} ({})", l.name, l.alias));
  }

  std::vector<std::string> before;
  for (const auto& id : detail::responder_ids(store_))
    if (detail::responder_running(store_, id)) before.push_back(id);
  BERTH_CHECK(detail::sync(cfg_, store_, nets, /*force=*/true));
  for (const auto& id : before)
    if (!detail::responder_running(store_, id)) rep.removed.push_back("DNS responder of " + id);
  for (const auto& r : rep.removed) log::info("network gc: removed {}", r);
  return rep;
}

}  // namespace berth::net
