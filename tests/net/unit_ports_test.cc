#include <gtest/gtest.h>

#include "net/ip.h"
#include "net/ipam.h"
#include "net/ports.h"

namespace berth::net {
namespace {

TEST(NetIp, ParsesAndFormats) {
  EXPECT_EQ(parse_ipv4("10.87.0.1")->str(), "10.87.0.1");
  EXPECT_FALSE(parse_ipv4("10.87.0"));
  EXPECT_FALSE(parse_ipv4("10.87.0.256"));
  EXPECT_FALSE(parse_ipv4("10.87.00.1"));
  EXPECT_FALSE(parse_ipv4("a.b.c.d"));
  auto s = parse_subnet("10.87.0.0/16");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.87.0.0/16");
  EXPECT_TRUE(s->contains(*parse_ipv4("10.87.255.1")));
  EXPECT_FALSE(s->contains(*parse_ipv4("10.88.0.1")));
  EXPECT_EQ(s->broadcast().str(), "10.87.255.255");
  EXPECT_FALSE(parse_subnet("10.87.0.1/16"));
  EXPECT_EQ(parse_subnet("10.87.0.1/16", true)->str(), "10.87.0.0/16");
  EXPECT_FALSE(parse_subnet("10.87.0.0/33"));
  EXPECT_FALSE(parse_subnet("10.87.0.0"));
  EXPECT_TRUE(parse_subnet("10.0.0.0/8")->overlaps(*parse_subnet("10.87.3.0/24")));
  EXPECT_FALSE(parse_subnet("10.87.0.0/16")->overlaps(*parse_subnet("10.88.0.0/16")));
}

TEST(NetPorts, ParsesDockerForms) {
  auto p = parse_port_spec("80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_lo, 0);
  EXPECT_EQ(p->ctr_lo, 80);
  EXPECT_EQ(p->proto, Proto::kTcp);
  p = parse_port_spec("8080:80/udp");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_lo, 8080);
  EXPECT_EQ(p->host_hi, 8080);
  EXPECT_EQ(p->ctr_lo, 80);
  EXPECT_EQ(p->proto, Proto::kUdp);
  p = parse_port_spec("127.0.0.1:8080:80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_ip, "127.0.0.1");
  p = parse_port_spec("127.0.0.1::80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_ip, "127.0.0.1");
  EXPECT_EQ(p->host_lo, 0);
  p = parse_port_spec("0.0.0.0:8080:80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_ip, "");
  p = parse_port_spec("8000-8010:80-90");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_hi, 8010);
  EXPECT_EQ(p->ctr_hi, 90);
  EXPECT_TRUE(parse_port_spec("8000-8010:80"));
}

TEST(NetPorts, RejectsBadSpecs) {
  for (const char* bad : {"", "0", "65536", "80/sctp", "a:80", "8000-8010:80-85", "90-80",
                          "1.2.3:80:80", "[::1]:80:80", "1:2:3:4", "8080:", "80/"}) {
    auto p = parse_port_spec(bad);
    EXPECT_FALSE(p) << bad;
    if (!p) {
      EXPECT_EQ(p.error().kind(), ErrorKind::kInvalidArgument) << bad;
    }
  }
  auto e = parse_port_spec("8000-8010:80-85");
  EXPECT_NE(e.error().message().find("differ in length"), std::string::npos);
}

TEST(NetPorts, PublishAllSpecs) {
  auto s = publish_all_specs({"80/tcp", "53/udp", "9000-9001"});
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[1].proto, Proto::kUdp);
  EXPECT_EQ((*s)[2].ctr_hi, 9001);
  EXPECT_EQ((*s)[0].host_lo, 0);
  EXPECT_FALSE(publish_all_specs({"80/icmp"}));
}

PortFree all_free() {
  return [](const std::string&, uint16_t, Proto) { return true; };
}

TEST(NetPorts, ResolvesRangesOneToOne) {
  auto r = resolve_ports({*parse_port_spec("8000-8002:80-82")}, all_free(), 40000, 40010, 40000);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[2].host_port, 8002);
  EXPECT_EQ((*r)[2].container_port, 82);
  EXPECT_EQ((*r)[0].str(), "0.0.0.0:8000->80/tcp");
}

TEST(NetPorts, HostRangePicksOneFreePort) {
  PortFree busy_8000 = [](const std::string&, uint16_t p, Proto) { return p != 8000; };
  auto r = resolve_ports({*parse_port_spec("8000-8010:80")}, busy_8000, 40000, 40010, 40000);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].host_port, 8001);
  PortFree none = [](const std::string&, uint16_t, Proto) { return false; };
  EXPECT_FALSE(resolve_ports({*parse_port_spec("8000-8010:80")}, none, 40000, 40010, 40000));
}

TEST(NetPorts, FixedPortTakenIsAClearError) {
  PortFree busy = [](const std::string&, uint16_t p, Proto pr) {
    return !(p == 8080 && pr == Proto::kTcp);
  };
  auto r = resolve_ports({*parse_port_spec("8080:80")}, busy, 40000, 40010, 40000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(r.error().message().find("8080"), std::string::npos);
  // The same port in UDP is another port.
  EXPECT_TRUE(resolve_ports({*parse_port_spec("8080:80/udp")}, busy, 40000, 40010, 40000));
}

TEST(NetPorts, AutoPortsAreDistinctAndSkipTaken) {
  PortFree busy = [](const std::string&, uint16_t p, Proto) { return p != 40001; };
  auto specs = *publish_all_specs({"80", "81", "82"});
  auto r = resolve_ports(specs, busy, 40000, 40003, 40000);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].host_port, 40000);
  EXPECT_EQ((*r)[1].host_port, 40002);
  EXPECT_EQ((*r)[2].host_port, 40003);
  EXPECT_FALSE(resolve_ports(*publish_all_specs({"80-84"}), busy, 40000, 40003, 40000));
}

TEST(NetPorts, SameHostPortTwiceInOneRequestIsRefused) {
  auto r = resolve_ports({*parse_port_spec("8080:80"), *parse_port_spec("127.0.0.1:8080:81")},
                         all_free(), 40000, 40010, 40000);
  EXPECT_FALSE(r);
  EXPECT_TRUE(resolve_ports({*parse_port_spec("8080:80"), *parse_port_spec("8080:80/udp")},
                            all_free(), 40000, 40010, 40000));
}

TEST(NetIpam, AllocatesLowestFreeSkippingReserved) {
  Subnet s = *parse_subnet("10.87.0.0/29");
  Ipv4 gw = *gateway_for(s, Ipv4{});
  EXPECT_EQ(gw.str(), "10.87.0.1");
  std::set<Ipv4> used;
  for (const char* want : {"10.87.0.2", "10.87.0.3", "10.87.0.4", "10.87.0.5", "10.87.0.6"}) {
    auto ip = allocate_ip(s, gw, used);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->str(), want);
    used.insert(*ip);
  }
  auto full = allocate_ip(s, gw, used);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().kind(), ErrorKind::kUnavailable);
  used.erase(*parse_ipv4("10.87.0.4"));
  EXPECT_EQ(allocate_ip(s, gw, used)->str(), "10.87.0.4");
}

TEST(NetIpam, HandsAddressesOutInTurnSoAFreedOneWaits) {
  Subnet s = *parse_subnet("10.87.0.0/29");
  Ipv4 gw = *gateway_for(s, Ipv4{});
  // After .3 comes .4 even though .2 is free; past the end it wraps round to the lowest.
  EXPECT_EQ(allocate_ip(s, gw, {}, *parse_ipv4("10.87.0.3"))->str(), "10.87.0.4");
  EXPECT_EQ(allocate_ip(s, gw, {}, *parse_ipv4("10.87.0.6"))->str(), "10.87.0.2");
  std::set<Ipv4> used = {*parse_ipv4("10.87.0.5"), *parse_ipv4("10.87.0.6")};
  EXPECT_EQ(allocate_ip(s, gw, used, *parse_ipv4("10.87.0.4"))->str(), "10.87.0.2");
  // A `last` outside the subnet (another network's, or none) starts from the lowest.
  EXPECT_EQ(allocate_ip(s, gw, {}, *parse_ipv4("192.168.1.1"))->str(), "10.87.0.2");
  used = {*parse_ipv4("10.87.0.2"), *parse_ipv4("10.87.0.3"), *parse_ipv4("10.87.0.4"),
          *parse_ipv4("10.87.0.5"), *parse_ipv4("10.87.0.6")};
  EXPECT_EQ(allocate_ip(s, gw, used, *parse_ipv4("10.87.0.3")).error().kind(),
            ErrorKind::kUnavailable);
}

TEST(NetIpam, GatewayElsewhereAndClaims) {
  Subnet s = *parse_subnet("10.87.0.0/24");
  Ipv4 gw = *gateway_for(s, *parse_ipv4("10.87.0.254"));
  EXPECT_EQ(allocate_ip(s, gw, {})->str(), "10.87.0.1");
  EXPECT_FALSE(gateway_for(s, *parse_ipv4("10.87.0.255")));
  EXPECT_FALSE(gateway_for(s, *parse_ipv4("10.88.0.1")));
  EXPECT_FALSE(gateway_for(*parse_subnet("10.87.0.0/31"), Ipv4{}));
  std::set<Ipv4> used = {*parse_ipv4("10.87.0.9")};
  EXPECT_TRUE(claim_ip(s, gw, used, *parse_ipv4("10.87.0.8")));
  EXPECT_EQ(claim_ip(s, gw, used, *parse_ipv4("10.87.0.9")).error().kind(),
            ErrorKind::kAlreadyExists);
  EXPECT_FALSE(claim_ip(s, gw, used, *parse_ipv4("10.87.0.254")));
  EXPECT_FALSE(claim_ip(s, gw, used, *parse_ipv4("10.87.1.3")));
}

TEST(NetIpam, PicksSubnetsAroundTakenOnes) {
  Subnet pool = *parse_subnet("10.80.0.0/13");
  auto s = pick_subnet(pool, 24, {*parse_subnet("10.80.0.0/23"), *parse_subnet("10.80.2.128/25")});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.80.3.0/24");
  // A host route covering the whole pool leaves nothing.
  EXPECT_FALSE(pick_subnet(pool, 24, {*parse_subnet("10.0.0.0/8")}));
  EXPECT_FALSE(pick_subnet(pool, 12, {}));
}

}  // namespace
}  // namespace berth::net
