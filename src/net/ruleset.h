// berth's nftables table as a pure value: built from the networks and their published ports,
// then applied in one transaction (nft.h). Rebuilding the whole table from the records on every
// change keeps the kernel's state a function of the records: nothing to patch, nothing to leak.
#pragma once

#include <string>
#include <vector>

#include "net/ip.h"
#include "net/ports.h"

namespace berth::net {

struct RuleNetwork {
  std::string bridge;
  Subnet subnet;
  bool internal = false;  // no forwarding in or out of the bridge, no masquerade
};

struct RulePort {
  PortMapping map;  // host side (host_ip "" = every local address)
  Ipv4 container_ip;
  std::string bridge;  // the container's bridge
  std::string owner;   // a comment: the container id
};

struct RuleSetInput {
  std::string table;  // nftables table name (family ip)
  std::vector<RuleNetwork> networks;
  std::vector<RulePort> ports;
};

// The nft script that replaces the table atomically ("add table; delete table; table {...}"),
// one transaction when run by libnftables.
std::string build_ruleset(const RuleSetInput& in);
// The script that removes the table (no error when it is absent).
std::string delete_table_script(const std::string& table);

}  // namespace berth::net
