// detach: a container leaves a network; and the /etc files of a container.
#include <unistd.h>

#include <algorithm>

#include "base/file.h"
#include "base/log.h"
#include "net/detail.h"
#include "net/etc_files.h"

namespace berth::net {

Result<void> Manager::detach(const std::string& container_id, const std::string& network,
                             bool namespace_going) {
  EndpointRecord e;
  {
    auto lock = BERTH_TRY(store_.lock());
    auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
    NetworkRecord n = BERTH_TRY(detail::find_network(nets, network, cfg_));
    bool found = false;
    for (auto& x : BERTH_TRY(store_.endpoints(n.id))) {
      if (x.container_id != container_id) continue;
      e = std::move(x);
      found = true;
    }
    if (!found)
      return fail(make_error(ErrorKind::kNotFound, "container {} is not on network {}",
                             container_id, n.name));
    if (e.state != EndpointState::kActive && e.owner_pid != getpid() &&
        detail::owner_alive(e.owner_pid, e.owner_start))
      return fail(make_error(ErrorKind::kFailedPrecondition,
                             "container {} on network {} is being {} by process {}", container_id,
                             n.name, e.state == EndpointState::kPreparing ? "set up" : "removed",
                             e.owner_pid));
    // Intent first: a crash from here on leaves a record gc() finishes.
    e.state = EndpointState::kRemoving;
    e.owner_pid = getpid();
    e.owner_start = detail::self_start_time();
    BERTH_CHECK(store_.put_endpoint(e));
  }
  // Deleting the host end deletes the pair; the container keeps only lo for this network.
  // When the namespace goes, the kernel deletes the pair with it (see network.h).
  if (!namespace_going) BERTH_CHECK(detail::delete_link(e.host_veth));
  auto lock = BERTH_TRY(store_.lock());
  BERTH_CHECK(store_.remove_endpoint(e.network_id, e.container_id));
  auto nets = BERTH_TRY(detail::load_networks(cfg_, store_));
  return detail::sync(cfg_, store_, nets);
}

Result<void> Manager::detach_all(const std::string& container_id, bool namespace_going) {
  return detach_all(container_id, [namespace_going] { return namespace_going; });
}

Result<void> Manager::detach_all(const std::string& container_id,
                                 const std::function<bool()>& namespace_going) {
  std::vector<std::string> nets;
  {
    auto lock = BERTH_TRY(store_.lock());
    for (const auto& e : BERTH_TRY(store_.all_endpoints()))
      if (e.container_id == container_id) nets.push_back(e.network_id);
  }
  if (nets.empty()) return {};
  bool going = namespace_going();
  for (const auto& n : nets) {
    auto r = detach(container_id, n, going);
    if (!r && r.error().kind() != ErrorKind::kNotFound) return r;
  }
  return {};
}

Result<EtcFiles> Manager::etc_files(const std::string& container_id) {
  std::vector<EndpointRecord> mine;
  std::vector<NetworkRecord> nets;
  {
    auto lock = BERTH_TRY(store_.lock());
    nets = BERTH_TRY(detail::load_networks(cfg_, store_));
    for (auto& e : BERTH_TRY(store_.all_endpoints()))
      if (e.container_id == container_id) mine.push_back(std::move(e));
  }
  std::sort(mine.begin(), mine.end(),
            [](const EndpointRecord& a, const EndpointRecord& b) { return a.ifname < b.ifname; });
  EtcFiles out;
  std::string hostname = mine.empty() ? container_id.substr(0, 12) : mine.front().hostname;
  std::vector<HostEntry> hosts;
  std::vector<Ipv4> dns;
  for (const auto& e : mine) {
    hosts.push_back(HostEntry{e.ip, {hostname, e.container_name}});
    for (const auto& n : nets)
      if (n.id == e.network_id && n.dns) dns.push_back(n.gateway);
  }
  out.hosts = hosts_file(hosts);
  out.hostname = hostname_file(hostname);
  ResolvConf host;
  if (auto text = file::read(cfg_.host_resolv_conf)) host = parse_resolv_conf(*text);
  out.resolv_conf = format_resolv_conf(container_resolv_conf(host, dns));
  return out;
}

}  // namespace berth::net
