// The embedded DNS responder of one network: a small process bound to the network's gateway
// address (UDP and TCP port 53) in the host's namespace. It answers the names of
// dns/records (re-read whenever the file is replaced) and forwards other names to the
// upstream servers of dns/<net id>.conf. It holds dns/<net id>.lock while it runs (that lock
// is how others know it is alive) and exits by itself on SIGTERM, or when its network record,
// its bridge or the store goes away, so it cannot outlive what it serves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/ip.h"

namespace berth::net {

struct DnsServerOptions {
  std::string store_dir;  // <root>/networks
  std::string network_id;
  std::string bridge;
  Ipv4 listen;
  uint16_t port = 53;
  int ready_fd = -1;  // gets "ok\n" once the sockets are bound, or an error line
};

// Runs until told to stop; returns the exit code.
int run_dns_server(const DnsServerOptions& opt);
// The entry point of the helper process: args are the words after "dns-serve".
int dns_server_main(const std::vector<std::string>& args);

// dns/<net id>.conf: "forward 0|1" and "upstream ADDR[:PORT]" lines.
struct DnsUpstreams {
  bool forward = true;
  std::vector<std::pair<Ipv4, uint16_t>> servers;
};
std::string format_dns_conf(const DnsUpstreams& u);
DnsUpstreams parse_dns_conf(std::string_view text);

}  // namespace berth::net
