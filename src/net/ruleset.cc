#include "net/ruleset.h"

#include <fmt/ranges.h>

namespace berth::net {

namespace {

std::string quoted(const std::string& s) { return fmt::format("\"{}\"", s); }

// A container port published: DNAT in prerouting (other hosts, containers) and output (the
// host itself, 127.0.0.1 included: the bridges have route_localnet set).
std::string dnat_rule(const RulePort& p) {
  std::string r;
  if (!p.map.host_ip.empty()) r += fmt::format("ip daddr {} ", p.map.host_ip);
  r += fmt::format("{} dport {} dnat to {}:{} comment {}", proto_name(p.map.proto), p.map.host_port,
                   p.container_ip.str(), p.map.container_port, quoted(p.owner));
  return r;
}

}  // namespace

std::string delete_table_script(const std::string& table) {
  return fmt::format("add table ip {0}\ndelete table ip {0}\n", table);
}

std::string build_ruleset(const RuleSetInput& in) {
  std::string s = delete_table_script(in.table);
  s += fmt::format("table ip {} {{\n", in.table);

  s += "  chain publish {\n";
  for (const auto& p : in.ports) s += "    " + dnat_rule(p) + "\n";
  s += "  }\n";

  s += "  chain prerouting {\n"
       "    type nat hook prerouting priority dstnat; policy accept;\n"
       "    fib daddr type local jump publish\n"
       "  }\n";
  s += "  chain output {\n"
       "    type nat hook output priority -100; policy accept;\n"
       "    fib daddr type local jump publish\n"
       "  }\n";

  s += "  chain postrouting {\n"
       "    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& n : in.networks) {
    std::string br = quoted(n.bridge);
    std::string net = n.subnet.str();
    // The host reaching a published port on 127.0.0.1: the reply must come back to an address
    // the container can route to.
    s += fmt::format("    oifname {} ip saddr 127.0.0.0/8 masquerade\n", br);
    // Hairpin: a container reaching a published port of its own bridge through the host.
    s += fmt::format("    oifname {} ip saddr {} ct status dnat masquerade\n", br, net);
    if (!n.internal) s += fmt::format("    ip saddr {} oifname != {} masquerade\n", net, br);
  }
  s += "  }\n";

  s += "  chain forward {\n"
       "    type filter hook forward priority filter; policy accept;\n";
  for (const auto& n : in.networks) {
    std::string br = quoted(n.bridge);
    // Networks are isolated from each other; a published port (DNAT) is reachable from all.
    std::vector<std::string> others;
    for (const auto& o : in.networks)
      if (o.bridge != n.bridge) others.push_back(quoted(o.bridge));
    if (!others.empty())
      s += fmt::format("    iifname {} oifname {{ {} }} ct status != dnat drop\n", br,
                       fmt::join(others, ", "));
    if (n.internal) {
      s += fmt::format("    iifname {0} oifname != {0} drop\n", br);
      s += fmt::format("    oifname {0} iifname != {0} drop\n", br);
    }
  }
  s += "  }\n";
  s += "}\n";
  return s;
}

}  // namespace berth::net
