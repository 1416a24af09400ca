// berth's network records on disk, under one directory (<root>/networks):
//   lock                       flock: every change happens under it (safe across processes)
//   nets/<id>.json             one network
//   endpoints/<net id>/<container id>.json   one container's attachment to a network
//   dns/records                the names the DNS responders answer (derived; see dns_records.h)
//   dns/<net id>.{lock,pid,conf}  one network's responder
// Every file is replaced atomically (temp + rename); readers never see half a record.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/ip.h"
#include "net/ports.h"

namespace berth::net {

struct NetworkRecord {
  std::string id;  // 64 hex digits
  std::string name;
  std::string bridge;
  Subnet subnet;
  Ipv4 gateway;
  bool internal = false;
  bool dns = true;  // the embedded responder answers container names (not on the default)
  bool is_default = false;
  std::string created;  // RFC 3339, UTC
};

enum class EndpointState {
  kPreparing,  // intent recorded; the owner process is setting it up
  kActive,     // set up; lives as long as its container
  kRemoving,   // the owner process is tearing it down
};
std::string_view endpoint_state_name(EndpointState s);

struct EndpointRecord {
  std::string container_id;
  std::string container_name;
  std::string hostname;
  std::vector<std::string> aliases;
  std::string network_id;
  std::string ifname;     // inside the container, e.g. "eth0"
  std::string host_veth;  // host side, e.g. "vb3f9a0c1d22"
  Ipv4 ip;
  std::string mac;
  std::vector<PortMapping> ports;
  std::string netns;  // the path the caller gave
  EndpointState state = EndpointState::kPreparing;
  pid_t owner_pid = 0;  // while preparing/removing: the process doing it
  uint64_t owner_start = 0;
  std::string created;
};

std::string network_to_json(const NetworkRecord& n);
Result<NetworkRecord> network_from_json(std::string_view text);
std::string endpoint_to_json(const EndpointRecord& e);
Result<EndpointRecord> endpoint_from_json(std::string_view text);

// Holds the store's lock (flock, exclusive) while alive.
class StoreLock {
 public:
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;
};

class Store {
 public:
  explicit Store(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Creates the layout if needed and takes the lock (blocking).
  Result<StoreLock> lock() const;

  Result<std::vector<NetworkRecord>> networks() const;
  Result<void> put_network(const NetworkRecord& n) const;
  Result<void> remove_network(const std::string& id) const;
  // The address last handed out on a network (0.0.0.0 when none yet), for allocate_ip.
  Ipv4 last_ip(const std::string& network_id) const;
  Result<void> set_last_ip(const std::string& network_id, Ipv4 ip) const;

  Result<std::vector<EndpointRecord>> endpoints(const std::string& network_id) const;
  Result<std::vector<EndpointRecord>> all_endpoints() const;
  Result<void> put_endpoint(const EndpointRecord& e) const;
  // Endpoint files that do not parse (cut short by a power loss: they are not fsynced).
  std::vector<std::string> unreadable_endpoints() const;
  Result<void> remove_endpoint(const std::string& network_id,
                               const std::string& container_id) const;

  std::string dns_dir() const { return dir_ + "/dns"; }

 private:
  std::string dir_;
};

}  // namespace berth::net
