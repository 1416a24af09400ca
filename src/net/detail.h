// Internal helpers shared by the Manager's files (not part of the API).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "net/network.h"
#include "net/ports.h"
#include "net/store.h"

namespace berth::net::detail {

// Link names and the IFLA_IFALIAS tags that mark links as this store's.
std::string link_tag(const Config& c);  // "berth <table> "
std::string bridge_alias(const Config& c, const std::string& net_id);
std::string veth_alias(const Config& c, const std::string& net_id, const std::string& cid);
// "vb" + 10 hex digits of a hash of (store, network, container): unique, stable, <= 15 chars.
std::string veth_name(const Config& c, const std::string& net_id, const std::string& cid);
std::string random_id();  // 64 hex digits
// Names of networks, containers and aliases: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128.
bool valid_name(std::string_view s);

// A /pool_prefix subnet of the pool that meets no network, host route or the default subnet;
// the first one, or a random one.
Result<Subnet> free_subnet(const Config& c, const std::vector<NetworkRecord>& nets,
                           bool random_pick);
// The networks, with the default one's record created if missing. Call under the lock.
Result<std::vector<NetworkRecord>> load_networks(const Config& c, const Store& s);
Result<NetworkRecord> find_network(const std::vector<NetworkRecord>& nets,
                                   const std::string& name_or_id, const Config& c);

// The bridge of a network: created if missing (tagged), its gateway address, up,
// route_localnet on (published ports on 127.0.0.1). Idempotent; safe in parallel.
// Links inside a network (bridge, veths, the containers' eth) have loopback's MTU class:
// container <-> host and container <-> container traffic goes in 64 KiB frames, at ~95% of
// loopback's throughput here instead of ~55% with 1500. Traffic leaving through the host's
// uplink uses the container's default route, whose MTU metric is the uplink's
// (uplink_mtu()), so TCP picks a fitting MSS for it.
inline constexpr uint32_t kLinkMtu = 65535;
// The MTU of the host's default-route interface (1500 when there is none).
uint32_t uplink_mtu();
Result<void> ensure_bridge(const Config& c, const NetworkRecord& n);
// Deletes the network's bridge if it is there and tagged as this network's.
Result<void> remove_bridge(const Config& c, const NetworkRecord& n);
// Deletes a link by name; a missing link is fine.
Result<void> delete_link(const std::string& name);
Result<void> write_sysctl(const std::string& path, std::string_view value);

// Makes the kernel and the responders match the records: the nftables table (rules for the
// networks with active endpoints; no table without any), bridges (removed from networks
// without endpoints), dns/records, and one responder per DNS network with active endpoints
// (started or stopped). Called under the lock after every change.
// force: apply the nftables table even if it looks unchanged (gc: repair what others did).
Result<void> sync(const Config& c, const Store& s, const std::vector<NetworkRecord>& nets,
                  bool force = false);

// DNS responders.
bool responder_running(const Store& s, const std::string& net_id);
Result<void> start_responder(const Config& c, const Store& s, const NetworkRecord& n);
Result<void> stop_responder(const Store& s, const std::string& net_id);
// Network ids that have responder files (lock, pid or conf) in dns/.
std::vector<std::string> responder_ids(const Store& s);

// The free-port test for resolve_ports: berth's records, other tables' DNAT rules, a bind.
Result<PortFree> port_checker(const Config& c, const std::vector<EndpointRecord>& all);
// (proto, port) pairs that DNAT rules of tables other than skip_table match. Pure.
std::vector<std::pair<Proto, uint16_t>> foreign_dnat_ports(std::string_view ruleset_json,
                                                           const std::string& skip_table);

// The process that owns a preparing/removing endpoint is still running.
bool owner_alive(pid_t pid, uint64_t start);
uint64_t self_start_time();

}  // namespace berth::net::detail
