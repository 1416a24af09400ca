#include <gtest/gtest.h>

#include "net/detail.h"
#include "net/ruleset.h"

namespace berth::net {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

RuleSetInput sample() {
  RuleSetInput in;
  in.table = "berth";
  in.networks = {{"berth0", *parse_subnet("10.87.0.0/16"), false},
                 {"berth-1234abcd", *parse_subnet("10.80.0.0/24"), true}};
  in.ports = {
      {PortMapping{"", 8080, 80, Proto::kTcp}, *parse_ipv4("10.87.0.2"), "berth0", "c1"},
      {PortMapping{"127.0.0.1", 5353, 53, Proto::kUdp}, *parse_ipv4("10.87.0.3"), "berth0", "c2"}};
  return in;
}

TEST(NetRuleset, ReplacesTheWholeTableInOneScript) {
  std::string s = build_ruleset(sample());
  // add + delete first: the script works whether or not the table exists, atomically.
  EXPECT_EQ(s.rfind("add table ip berth\ndelete table ip berth\ntable ip berth {\n", 0), 0u) << s;
  EXPECT_EQ(count(s, "table ip berth {"), 1u);
}

TEST(NetRuleset, PublishesPortsForOtherHostsTheHostAndContainers) {
  std::string s = build_ruleset(sample());
  EXPECT_NE(s.find("tcp dport 8080 dnat to 10.87.0.2:80 comment \"c1\""), std::string::npos) << s;
  EXPECT_NE(s.find("ip daddr 127.0.0.1 udp dport 5353 dnat to 10.87.0.3:53"), std::string::npos);
  // Both the prerouting (other hosts, containers) and output (the host) hooks jump to it,
  // for local destinations only.
  EXPECT_EQ(count(s, "fib daddr type local jump publish"), 2u);
  EXPECT_NE(s.find("type nat hook prerouting"), std::string::npos);
  EXPECT_NE(s.find("type nat hook output"), std::string::npos);
  // 127.0.0.1 -> container and hairpin need source NAT on the bridge.
  EXPECT_NE(s.find("oifname \"berth0\" ip saddr 127.0.0.0/8 masquerade"), std::string::npos);
  EXPECT_NE(s.find("oifname \"berth0\" ip saddr 10.87.0.0/16 ct status dnat masquerade"),
            std::string::npos);
}

TEST(NetRuleset, MasqueradesOnlyRoutedNetworks) {
  std::string s = build_ruleset(sample());
  EXPECT_NE(s.find("ip saddr 10.87.0.0/16 oifname != \"berth0\" masquerade"), std::string::npos);
  EXPECT_EQ(s.find("ip saddr 10.80.0.0/24 oifname != \"berth-1234abcd\" masquerade"),
            std::string::npos);
  // The internal network is cut off both ways in forward.
  EXPECT_NE(s.find("iifname \"berth-1234abcd\" oifname != \"berth-1234abcd\" drop"),
            std::string::npos);
  EXPECT_NE(s.find("oifname \"berth-1234abcd\" iifname != \"berth-1234abcd\" drop"),
            std::string::npos);
  // Networks are isolated from each other except through published ports.
  EXPECT_NE(s.find("iifname \"berth0\" oifname { \"berth-1234abcd\" } ct status != dnat drop"),
            std::string::npos);
}

TEST(NetRuleset, EmptyInputStillMakesAValidTable) {
  RuleSetInput in;
  in.table = "t";
  std::string s = build_ruleset(in);
  EXPECT_NE(s.find("chain publish {\n  }"), std::string::npos) << s;
  EXPECT_EQ(delete_table_script("t"), "add table ip t\ndelete table ip t\n");
}

TEST(NetRuleset, FindsOtherTablesDnatPorts) {
  const char* json = R"({"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"rule": {"family": "ip", "table": "podman", "chain": "x", "handle": 3, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                 "right": 8080}},
      {"dnat": {"addr": "10.88.0.2", "port": 80}}]}},
    {"rule": {"family": "ip", "table": "podman", "chain": "x", "handle": 4, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
                 "right": {"range": [9000, 9002]}}},
      {"xt": {"type": "target", "name": "DNAT"}}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "in", "handle": 5, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                 "right": 22}},
      {"accept": null}]}},
    {"rule": {"family": "ip", "table": "berth", "chain": "publish", "handle": 6, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                 "right": {"set": [7000, 7001]}}},
      {"dnat": {"addr": "10.87.0.2", "port": 80}}]}}
  ]})";
  auto ports = detail::foreign_dnat_ports(json, "berth");
  std::vector<std::pair<Proto, uint16_t>> want = {
      {Proto::kTcp, 8080}, {Proto::kUdp, 9000}, {Proto::kUdp, 9001}, {Proto::kUdp, 9002}};
  EXPECT_EQ(ports, want);
  EXPECT_TRUE(detail::foreign_dnat_ports("not json", "berth").empty());
  EXPECT_EQ(detail::foreign_dnat_ports(json, "other").size(), 6u);
}

TEST(NetNaming, VethNamesAreShortStableAndDistinct) {
  Config c;
  c.dir = "/var/lib/berth/networks";
  std::string a = detail::veth_name(c, "net1", "c1");
  EXPECT_EQ(a, detail::veth_name(c, "net1", "c1"));
  EXPECT_NE(a, detail::veth_name(c, "net1", "c2"));
  EXPECT_NE(a, detail::veth_name(c, "net2", "c1"));
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.rfind("vb", 0), 0u);
  Config other = c;
  other.dir = "/tmp/x/networks";
  EXPECT_NE(a, detail::veth_name(other, "net1", "c1"));
  EXPECT_TRUE(detail::valid_name("web-1.a_b"));
  EXPECT_FALSE(detail::valid_name("-x"));
  EXPECT_FALSE(detail::valid_name("a/b"));
  EXPECT_FALSE(detail::valid_name(""));
  EXPECT_EQ(detail::random_id().size(), 64u);
  EXPECT_NE(detail::random_id(), detail::random_id());
}

}  // namespace
}  // namespace berth::net
