// Published ports: `-p [hostip:][hostport:]containerport[/tcp|udp]` with ranges, `-P`, and
// the choice of concrete host ports. Pure (the free-port test is passed in).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace berth::net {

enum class Proto { kTcp, kUdp };
std::string_view proto_name(Proto p);
Result<Proto> parse_proto(std::string_view s);

// One -p argument as written. host_lo == 0 means "any free host port".
struct PortSpec {
  std::string host_ip;  // "" = every host address
  uint16_t host_lo = 0, host_hi = 0;
  uint16_t ctr_lo = 0, ctr_hi = 0;
  Proto proto = Proto::kTcp;
  auto operator<=>(const PortSpec&) const = default;
};

// One concrete published port.
struct PortMapping {
  std::string host_ip;  // "" = every host address
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  Proto proto = Proto::kTcp;
  auto operator<=>(const PortMapping&) const = default;
  std::string str() const;  // "0.0.0.0:8080->80/tcp"
};

// Parses one -p value: "80", "8080:80", "127.0.0.1:8080:80/udp", "127.0.0.1::80",
// "8000-8010:80-90", "8000-8010:80" (one free port of the range).
Result<PortSpec> parse_port_spec(std::string_view s);
// -P: one spec per exposed port of the image ("80/tcp", "53/udp", "8000-8002").
Result<std::vector<PortSpec>> publish_all_specs(const std::vector<std::string>& exposed);

// Is host_ip:port/proto free to publish? (Checked against berth's records, the host's nftables
// rules and a bind test by the caller.)
using PortFree = std::function<bool(const std::string& host_ip, uint16_t port, Proto proto)>;

// Turns specs into concrete mappings. Fixed ports that are not free are an error naming the
// port; "any" ports are taken from [auto_lo, auto_hi] starting at auto_start.
Result<std::vector<PortMapping>> resolve_ports(const std::vector<PortSpec>& specs,
                                               const PortFree& is_free, uint16_t auto_lo,
                                               uint16_t auto_hi, uint16_t auto_start);

}  // namespace berth::net
