#include "net/ports.h"

#include <set>
#include <tuple>

#include "base/strings.h"
#include "net/ip.h"

namespace berth::net {

std::string_view proto_name(Proto p) { return p == Proto::kTcp ? "tcp" : "udp"; }

Result<Proto> parse_proto(std::string_view s) {
  if (s == "tcp") return Proto::kTcp;
  if (s == "udp") return Proto::kUdp;
  return fail(invalid("unsupported protocol {:?} (tcp or udp)", std::string(s)));
}

std::string PortMapping::str() const {
  return fmt::format("{}:{}->{}/{}", host_ip.empty() ? "0.0.0.0" : host_ip, host_port,
                     container_port, proto_name(proto));
}

namespace {

// "80" or "80-90" -> [lo, hi]; ports 1..65535.
Result<std::pair<uint16_t, uint16_t>> parse_range(std::string_view s, std::string_view what) {
  size_t dash = s.find('-');
  auto one = [&](std::string_view p) -> Result<uint16_t> {
    auto n = parse_uint(p);
    if (!n || *n == 0 || *n > 65535)
      return fail(invalid("{}: {:?} is not a port number (1-65535)", what, std::string(p)));
    return static_cast<uint16_t>(*n);
  };
  if (dash == std::string_view::npos) {
    uint16_t p = BERTH_TRY(one(s));
    return std::pair{p, p};
  }
  uint16_t lo = BERTH_TRY(one(s.substr(0, dash)));
  uint16_t hi = BERTH_TRY(one(s.substr(dash + 1)));
  if (hi < lo) return fail(invalid("{}: range {:?} ends before it starts", what, std::string(s)));
  return std::pair{lo, hi};
}

}  // namespace

Result<PortSpec> parse_port_spec(std::string_view s) {
  std::string orig(s);
  PortSpec spec;
  if (size_t slash = s.rfind('/'); slash != std::string_view::npos) {
    auto proto = parse_proto(s.substr(slash + 1));
    if (!proto) return fail(std::move(proto.error()).wrap(fmt::format("-p {:?}", orig)));
    spec.proto = *proto;
    s = s.substr(0, slash);
  }
  if (!s.empty() && s.front() == '[')
    return fail(invalid("-p {:?}: IPv6 host addresses are not supported", orig));
  std::vector<std::string> parts = split(s, ':');
  std::string host_ip, host, ctr;
  if (parts.size() == 1) {
    ctr = parts[0];
  } else if (parts.size() == 2) {
    host = parts[0];
    ctr = parts[1];
  } else if (parts.size() == 3) {
    host_ip = parts[0];
    host = parts[1];
    ctr = parts[2];
  } else {
    return fail(invalid("-p {:?}: expected [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]", orig));
  }
  if (!host_ip.empty()) {
    auto ip = parse_ipv4(host_ip);
    if (!ip) return fail(std::move(ip.error()).wrap(fmt::format("-p {:?}", orig)));
    if (ip->v != 0) spec.host_ip = ip->str();  // 0.0.0.0 means every address
  }
  auto what = fmt::format("-p {:?}", orig);
  auto [clo, chi] = BERTH_TRY(parse_range(ctr, what));
  spec.ctr_lo = clo;
  spec.ctr_hi = chi;
  if (!host.empty()) {
    auto [hlo, hhi] = BERTH_TRY(parse_range(host, what));
    spec.host_lo = hlo;
    spec.host_hi = hhi;
    bool one_to_one = hhi - hlo == chi - clo;
    bool pick_one = clo == chi;
    if (!one_to_one && !pick_one)
      return fail(invalid("{}: host range and container range differ in length", what));
  }
  return spec;
}

Result<std::vector<PortSpec>> publish_all_specs(const std::vector<std::string>& exposed) {
  std::vector<PortSpec> out;
  for (const auto& e : exposed) {
    std::string_view s = e;
    PortSpec spec;
    if (size_t slash = s.rfind('/'); slash != std::string_view::npos) {
      spec.proto = BERTH_TRY(parse_proto(s.substr(slash + 1)));
      s = s.substr(0, slash);
    }
    auto [lo, hi] = BERTH_TRY(parse_range(s, fmt::format("exposed port {:?}", e)));
    spec.ctr_lo = lo;
    spec.ctr_hi = hi;
    out.push_back(spec);
  }
  return out;
}

Result<std::vector<PortMapping>> resolve_ports(const std::vector<PortSpec>& specs,
                                               const PortFree& is_free, uint16_t auto_lo,
                                               uint16_t auto_hi, uint16_t auto_start) {
  std::vector<PortMapping> out;
  // Ports taken by this request itself: (ip, port, proto). "" conflicts with every address.
  std::set<std::tuple<std::string, uint16_t, Proto>> taken;
  auto clash = [&](const std::string& ip, uint16_t port, Proto proto) {
    for (const auto& [tip, tport, tproto] : taken)
      if (tport == port && tproto == proto && (tip.empty() || ip.empty() || tip == ip)) return true;
    return false;
  };
  auto usable = [&](const std::string& ip, uint16_t port, Proto proto) {
    return !clash(ip, port, proto) && is_free(ip, port, proto);
  };
  auto take = [&](const PortSpec& s, uint16_t host, uint16_t ctr) {
    taken.insert({s.host_ip, host, s.proto});
    out.push_back(PortMapping{s.host_ip, host, ctr, s.proto});
  };
  uint32_t span = auto_hi >= auto_lo ? uint32_t{auto_hi} - auto_lo + 1 : 0;
  uint32_t next = auto_start >= auto_lo && auto_start <= auto_hi ? auto_start - auto_lo : 0;
  for (const auto& s : specs) {
    if (s.host_lo == 0) {
      for (uint32_t c = s.ctr_lo; c <= s.ctr_hi; ++c) {
        bool found = false;
        for (uint32_t i = 0; i < span && !found; ++i, next = (next + 1) % span) {
          auto port = static_cast<uint16_t>(auto_lo + next);
          if (usable(s.host_ip, port, s.proto)) {
            take(s, port, static_cast<uint16_t>(c));
            found = true;
          }
        }
        if (!found)
          return fail(make_error(ErrorKind::kUnavailable, "no free host port for {}/{}", c,
                                 proto_name(s.proto)));
      }
    } else if (s.ctr_lo == s.ctr_hi && s.host_hi != s.host_lo) {
      bool found = false;
      for (uint32_t h = s.host_lo; h <= s.host_hi && !found; ++h) {
        if (usable(s.host_ip, static_cast<uint16_t>(h), s.proto)) {
          take(s, static_cast<uint16_t>(h), s.ctr_lo);
          found = true;
        }
      }
      if (!found)
        return fail(make_error(ErrorKind::kAlreadyExists,
                               "every host port {}-{}/{} is already in use", s.host_lo, s.host_hi,
                               proto_name(s.proto)));
    } else {
      for (uint32_t i = 0; i <= uint32_t{s.host_hi} - s.host_lo; ++i) {
        auto h = static_cast<uint16_t>(s.host_lo + i);
        if (!usable(s.host_ip, h, s.proto))
          return fail(make_error(ErrorKind::kAlreadyExists, "host port {}{}/{} is already in use",
                                 s.host_ip.empty() ? "" : s.host_ip + ":", h, proto_name(s.proto)));
        take(s, h, static_cast<uint16_t>(s.ctr_lo + i));
      }
    }
  }
  return out;
}

}  // namespace berth::net
