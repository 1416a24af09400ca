// berth's networking, as the engine calls it.
//
//   net::Manager nets(net::Config{.dir = root + "/networks"});
//   nets.gc(is_live);                          // on startup of commands: repair what a crash left
//   net::create_netns(state + "/netns/" + id); // the container's namespace, pinned
//   auto a = nets.attach({.container_id = id, .container_name = name, .netns_path = ...,
//                         .network = "bridge", .ports = specs});
//   auto etc = nets.etc_files(id);              // /etc/hosts, resolv.conf, hostname
//   ... start the container in that namespace ...
//   nets.detach_all(id); net::remove_netns(path);  // on stop / rm
//
// Every operation is safe against concurrent berth processes (one flock over the store) and
// against a crash at any point: an endpoint's record is written (state "preparing", owner pid)
// before any link exists and removed after the last one is gone, so gc() can finish or undo
// whatever a killed process left half done.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/ip.h"
#include "net/ports.h"
#include "net/store.h"

namespace berth::net {

struct Config {
  // The configuration for berth's root directory: the defaults below for /var/lib/berth;
  // for any other root (tests, a second berth) a table and default bridge named after a hash
  // of the root, and a default subnet picked from the pool at first use, so that two roots
  // never touch each other's kernel state.
  static Config for_root(const std::string& root);

  std::string dir;              // the store: <root>/networks
  std::string table = "berth";  // berth's nftables table (family ip)
  std::string default_name = "bridge";
  std::string default_bridge = "berth0";
  // Not podman's 10.88.0.0/16 nor its 10.89+ pools, nor Docker's 172.17+ and 192.168 pools.
  // "" = a free /pool_prefix of the pool, chosen when the default network's record is made.
  std::string default_subnet = "10.87.0.0/16";
  std::string pool = "10.80.0.0/13";  // user networks without --subnet get a /24 of it
  int pool_prefix = 24;
  std::string host_resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> dns_upstreams;  // "ADDR[:PORT]"; empty: the host's resolvers
  uint16_t dns_port = 53;
  // How to start a DNS responder: this argv plus its options (see dns_server.h).
  std::vector<std::string> dns_helper = {"/proc/self/exe", "network", "dns-serve"};
  bool enable_ip_forward = true;  // sets net.ipv4.ip_forward=1 when a routed network is used
};

struct CreateOptions {
  std::string name;
  std::string subnet;   // "" = the next free /24 of the pool
  std::string gateway;  // "" = the subnet's first address
  bool internal = false;
};

struct EndpointInfo {
  std::string container_id;
  std::string container_name;
  std::string ifname;
  Ipv4 ip;
  std::string mac;
  std::vector<PortMapping> ports;
  std::string state;
};

struct NetworkInfo {
  NetworkRecord net;
  std::vector<EndpointInfo> endpoints;
};

struct AttachRequest {
  std::string container_id;          // [A-Za-z0-9_.-], also the record's file name
  std::string container_name;        // resolvable by other containers on user networks
  std::string hostname;              // for /etc/hostname and /etc/hosts ("" = first 12 of the id)
  std::vector<std::string> aliases;  // --network-alias
  std::string netns_path;            // /proc/PID/ns/net or a pinned namespace file
  std::string network;               // name or id; "" = the default network
  std::vector<PortSpec> ports;       // -p and -P (see ports.h)
  std::string ip;                    // --ip ("" = allocate)
  std::string ifname;                // "" = the first free ethN in the container
};

struct Attachment {
  std::string network_id;
  std::string network_name;
  std::string ifname;
  Ipv4 ip;
  int prefix = 0;
  Ipv4 gateway;  // 0 on internal networks (no default route)
  std::string mac;
  std::string host_veth;
  std::vector<PortMapping> ports;  // concrete host ports
  Ipv4 dns;                        // the embedded responder (0 = none on this network)
};

struct EtcFiles {
  std::string hosts;
  std::string resolv_conf;
  std::string hostname;
};

struct GcReport {
  std::vector<std::string> removed;  // one line per thing removed, for logs and tests
};

// Is this container one that should keep its network? (The engine's view.)
using IsLive = std::function<bool(const std::string& container_id)>;

class Manager {
 public:
  explicit Manager(Config config);
  const Config& config() const { return cfg_; }
  const Store& store() const { return store_; }

  // Networks. The default network exists implicitly (its record is made on first use).
  Result<NetworkRecord> create(const CreateOptions& opts);
  Result<std::vector<NetworkInfo>> list();
  Result<NetworkInfo> inspect(const std::string& name_or_id);
  // kFailedPrecondition while containers are attached, and for the default network.
  Result<void> remove(const std::string& name_or_id);
  // Removes every user network without containers; returns their names. Idle networks that
  // stay (the default one) give back their bridge and rules.
  Result<std::vector<std::string>> prune();

  // Containers. attach() returns once the interface is up, the address routed, the ports
  // published and the name resolvable; on error nothing of it remains.
  Result<Attachment> attach(const AttachRequest& req);
  // kNotFound when the container is not on that network. namespace_going: the caller is
  // about to drop the container's network namespace (the container is gone), and the kernel
  // deletes the veth pair with it, off the caller's path: deleting it here waits ~30 ms for
  // the kernel's RCU grace periods. Addresses are handed out in turn, so the freed address
  // is not reused while that happens (allocate_ip), and gc removes a veth left over if the
  // namespace lives on.
  Result<void> detach(const std::string& container_id, const std::string& network,
                      bool namespace_going = false);
  Result<void> detach_all(const std::string& container_id, bool namespace_going = false);
  // The same with namespace_going asked only when the container has an endpoint at all (the
  // engine's answer reads every container record).
  Result<void> detach_all(const std::string& container_id,
                          const std::function<bool()>& namespace_going);
  Result<std::vector<Attachment>> attachments(const std::string& container_id);
  // The container's /etc files from all its attachments (call after attach/connect).
  Result<EtcFiles> etc_files(const std::string& container_id);

  // Removes what no live container owns: endpoints of dead containers (or of processes killed
  // mid-setup), their veths, leases, rules and DNS names; links tagged as berth's with no
  // record; responders with nothing to serve. is_live null: only what is provably dead.
  Result<GcReport> gc(const IsLive& is_live = nullptr);
  // Removes everything this store made (links, rules, responders, records): tests, reset.
  Result<void> destroy_all();

 private:
  Config cfg_;
  Store store_;
};

// Network namespaces pinned by a bind mount on a file (as `ip netns add` does).
Result<void> create_netns(const std::string& path);
// Unmounts and removes; a missing path is fine.
Result<void> remove_netns(const std::string& path);
// Removes pinned namespaces in dir whose name (the file name) is_live says are dead.
Result<std::vector<std::string>> gc_netns(const std::string& dir, const IsLive& is_live);

}  // namespace berth::net
