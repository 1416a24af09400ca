// The names the embedded DNS responders answer, as one file for the whole store
// (dns/records), rewritten atomically on every attach and detach; each responder re-reads it
// when its inode changes. One line per endpoint on a network with DNS:
//   <network id> <address> <container id> <name> [<name>...]
// A container resolves the names on every network it shares with the target, preferring the
// address on the network the query came in on (a client is known by its source address).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/ip.h"

namespace berth::net {

struct DnsRecord {
  std::string network_id;
  Ipv4 ip;
  std::string container_id;
  std::vector<std::string> names;  // lower case
};

std::string format_dns_records(const std::vector<DnsRecord>& records);
std::vector<DnsRecord> parse_dns_records(std::string_view text);

// Addresses for name asked by client (an address on network_id). Empty: not a berth name.
std::vector<Ipv4> dns_lookup(const std::vector<DnsRecord>& records, std::string_view network_id,
                             Ipv4 client, std::string_view name);
// Names (the first of each record) for an address visible to the client.
std::vector<std::string> dns_reverse(const std::vector<DnsRecord>& records,
                                     std::string_view network_id, Ipv4 client, Ipv4 target);

}  // namespace berth::net
