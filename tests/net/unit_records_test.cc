#include <gtest/gtest.h>

#include "base/clock.h"
#include "net/etc_files.h"
#include "net/store.h"

namespace berth::net {
namespace {

TEST(NetEtc, ResolvConfFromHost) {
  auto host = parse_resolv_conf(
      "# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n"
      "nameserver ::1\nsearch a.example b.example\noptions edns0 trust-ad\n");
  EXPECT_EQ(host.nameservers.size(), 3u);
  auto plain = container_resolv_conf(host, {});
  EXPECT_EQ(plain.nameservers, std::vector<std::string>{"10.255.255.53"});
  EXPECT_EQ(plain.search.size(), 2u);
  auto embedded = container_resolv_conf(host, {*parse_ipv4("10.80.0.1")});
  EXPECT_EQ(embedded.nameservers, std::vector<std::string>{"10.80.0.1"});
  std::string text = format_resolv_conf(embedded);
  EXPECT_NE(text.find("nameserver 10.80.0.1\nsearch a.example b.example\noptions edns0 trust-ad\n"),
            std::string::npos)
      << text;
}

TEST(NetEtc, HostsAndHostname) {
  std::string h = hosts_file({{*parse_ipv4("10.87.0.2"), {"abc123", "web", "abc123"}}});
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(h.find("10.87.0.2\tabc123 web\n"), std::string::npos) << h;
  EXPECT_EQ(hostname_file("abc123"), "abc123\n");
}

TEST(NetStore, RecordsRoundTrip) {
  NetworkRecord n;
  n.id = std::string(64, 'a');
  n.name = "front";
  n.bridge = "berth-aaaaaaaa";
  n.subnet = *parse_subnet("10.80.3.0/24");
  n.gateway = *parse_ipv4("10.80.3.1");
  n.internal = true;
  n.created = clock::now_rfc3339_seconds();
  auto back = network_from_json(network_to_json(n));
  ASSERT_TRUE(back) << back.error().text();
  EXPECT_EQ(back->subnet, n.subnet);
  EXPECT_EQ(back->gateway, n.gateway);
  EXPECT_TRUE(back->internal);
  EXPECT_TRUE(back->dns);

  EndpointRecord e;
  e.container_id = "c1";
  e.container_name = "web";
  e.aliases = {"www"};
  e.network_id = n.id;
  e.ifname = "eth0";
  e.host_veth = "vb0123456789";
  e.ip = *parse_ipv4("10.80.3.2");
  e.ports = {{"127.0.0.1", 8080, 80, Proto::kUdp}};
  e.state = EndpointState::kRemoving;
  e.owner_pid = 42;
  e.owner_start = 99;
  auto eb = endpoint_from_json(endpoint_to_json(e));
  ASSERT_TRUE(eb) << eb.error().text();
  EXPECT_EQ(eb->ports, e.ports);
  EXPECT_EQ(eb->state, EndpointState::kRemoving);
  EXPECT_EQ(eb->owner_start, 99u);
  EXPECT_EQ(eb->aliases, e.aliases);
}

TEST(NetStore, BadRecordsAreErrorsNamingTheField) {
  auto r = network_from_json(R"({"id":"x","name":"n","bridge":"b","subnet":"10.0.0.1/8",
                                  "gateway":"10.0.0.1"})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("subnet"), std::string::npos) << r.error().text();
  auto e = endpoint_from_json(R"({"containerId":"c","networkId":"n","ifname":"eth0",
      "hostVeth":"v","ip":"10.0.0.2","state":"weird"})");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("state"), std::string::npos);
  EXPECT_FALSE(endpoint_from_json("[]"));
}

}  // namespace
}  // namespace berth::net
