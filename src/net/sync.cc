// Makes the kernel's rules, the DNS names and the responders match the records.
#include <map>
#include <set>

#include "base/file.h"
#include "base/log.h"
#include "net/detail.h"
#include "net/dns_records.h"
#include "net/dns_server.h"
#include "net/etc_files.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/ruleset.h"

namespace berth::net::detail {

namespace {

Result<void> write_if_changed(const std::string& path, const std::string& text) {
  auto cur = file::read(path);
  if (cur && *cur == text) return {};
  return file::write_atomic(path, text, 0644, false);
}

DnsUpstreams upstreams(const Config& c, const NetworkRecord& n) {
  DnsUpstreams u;
  u.forward = !n.internal;
  std::vector<std::string> servers = c.dns_upstreams;
  if (servers.empty()) {
    auto text = file::read(c.host_resolv_conf);
    if (text) servers = parse_resolv_conf(*text).nameservers;
  }
  std::string conf;
  for (const auto& s : servers) conf += "upstream " + s + "\n";
  u.servers = parse_dns_conf(conf).servers;  // IPv4 only; the responder runs on the host
  return u;
}

// The nftables table is rebuilt as a whole, but only when it would change: loading
// libnftables and running a script cost several ms, and most attaches and detaches (no ports
// published, the network's bridge already up) leave it as it is. <net dir>/nft.applied keeps
// the kernel's ruleset generation after the last apply, the table's fingerprint then
// (nft::table_fingerprint: its handle and its rules' handles) and the script. The same script
// is skipped when the generation is unchanged (nobody changed any table since) or, when
// another program changed other tables (podman's netavark does on every container), when
// berth's table still has the fingerprint it had.
Result<void> apply_table(const Store& s, const std::string& table, const std::string& script,
                         bool force) {
  std::string state_path = s.dir() + "/nft.applied";
  auto gen = nft::generation();
  if (!force && gen) {
    auto last = file::read(state_path);
    std::string_view l = last ? std::string_view(*last) : std::string_view();
    size_t eol1 = l.find('\n'), eol2 = eol1 == l.npos ? l.npos : l.find('\n', eol1 + 1);
    if (eol2 != l.npos && l.substr(eol2 + 1) == script) {
      std::string_view last_gen = l.substr(0, eol1),
                       last_print = l.substr(eol1 + 1, eol2 - eol1 - 1);
      if (last_gen == std::to_string(*gen)) return {};
      auto print = nft::table_fingerprint(table);
      if (print && *print == last_print) {
        (void)file::write_atomic(state_path, fmt::format("{}\n{}\n{}", *gen, *print, script), 0600,
                                 false);
        return {};
      }
    }
  }
  BERTH_CHECK(nft::run(script));
  auto after = nft::generation();
  auto print = nft::table_fingerprint(table);
  if (after && print)
    BERTH_CHECK(file::write_atomic(state_path, fmt::format("{}\n{}\n{}", *after, *print, script),
                                   0600, false));
  else
    (void)::unlink(state_path.c_str());
  return {};
}

}  // namespace

Result<void> sync(const Config& c, const Store& s, const std::vector<NetworkRecord>& nets,
                  bool force) {
  std::vector<EndpointRecord> eps = BERTH_TRY(s.all_endpoints());
  std::map<std::string, const NetworkRecord*> by_id;
  for (const auto& n : nets) by_id[n.id] = &n;

  RuleSetInput in{c.table, {}, {}};
  std::vector<DnsRecord> names;
  std::set<std::string> dns_needed, active_nets;
  for (const auto& e : eps) {
    auto it = by_id.find(e.network_id);
    if (it == by_id.end()) continue;
    if (e.state != EndpointState::kActive) continue;
    const NetworkRecord& n = *it->second;
    active_nets.insert(n.id);
    for (const auto& p : e.ports) in.ports.push_back({p, e.ip, n.bridge, e.container_id});
    if (!n.dns) continue;
    dns_needed.insert(n.id);
    DnsRecord r{n.id, e.ip, e.container_id, {}};
    if (!e.container_name.empty()) r.names.push_back(e.container_name);
    for (const auto& a : e.aliases) r.names.push_back(a);
    r.names.push_back(e.container_id.substr(0, 12));
    names.push_back(std::move(r));
  }
  // A network's bridge, once made, stays up while the network exists (as Docker's docker0
  // does), with its rules: making and deleting it around every container cost ~45 ms of
  // kernel time (netdev unregistration waits for RCU) and two table rebuilds. `network rm`
  // and `network prune` take bridges down. Rules: for every network whose bridge is up or
  // that has containers; with none, the table goes too.
  std::set<std::string> bridges_up;
  {
    Netlink nl = BERTH_TRY(Netlink::open());
    for (const auto& l : BERTH_TRY(nl.links()))
      if (l.kind == "bridge") bridges_up.insert(l.name);
  }
  for (const auto& n : nets)
    if (active_nets.contains(n.id) || bridges_up.contains(n.bridge))
      in.networks.push_back({n.bridge, n.subnet, n.internal});
  std::string script = in.networks.empty() ? delete_table_script(c.table) : build_ruleset(in);
  BERTH_CHECK_CTX(apply_table(s, c.table, script, force), "apply nftables table {}", c.table);
  BERTH_CHECK(write_if_changed(s.dns_dir() + "/records", format_dns_records(names)));

  for (const auto& n : nets) {
    if (!n.dns) continue;
    if (dns_needed.contains(n.id)) {
      BERTH_CHECK(
          write_if_changed(s.dns_dir() + "/" + n.id + ".conf", format_dns_conf(upstreams(c, n))));
      if (!responder_running(s, n.id)) BERTH_CHECK(start_responder(c, s, n));
    } else if (responder_running(s, n.id)) {
      BERTH_CHECK(stop_responder(s, n.id));
    }
  }
  // Responders of networks that are gone.
  for (const auto& id : responder_ids(s))
    if (!by_id.contains(id) || !dns_needed.contains(id)) BERTH_CHECK(stop_responder(s, id));
  return {};
}

}  // namespace berth::net::detail
