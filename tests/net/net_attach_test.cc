// A container joins and leaves networks: addresses, routes, /etc files, cleanup.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strings.h"
#include "net/detail.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net_fixture.h"

namespace berth::net::test {
namespace {

bool link_exists(const std::string& name) {
  auto nl = Netlink::open();
  return nl && nl->link(name).has_value();
}

TEST_F(NetTest, NoNetworkMeansOnlyLoopback) {
  Ctr c = make_ctr("lonely");
  auto r = in(c, {busybox(), "ip", "-o", "link"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": lo:"), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

// The table is rebuilt only when it would change (see sync.cc): a table someone else deleted
// meanwhile (the ruleset generation moved) is put back by the next attach.
TEST_F(NetTest, TableComesBackAfterSomeoneElseDeletedIt) {
  Ctr one = make_ctr("one");
  ASSERT_TRUE(mgr_->attach({.container_id = one.id, .netns_path = one.netns}));
  ASSERT_TRUE(mgr_->detach(one.id, ""));
  ASSERT_TRUE(*nft::table_exists(cfg_.table));
  ASSERT_TRUE(nft::run("delete table ip " + cfg_.table));
  ASSERT_FALSE(*nft::table_exists(cfg_.table));
  Ctr two = make_ctr("two");
  ASSERT_TRUE(mgr_->attach({.container_id = two.id, .netns_path = two.netns}));
  EXPECT_TRUE(*nft::table_exists(cfg_.table));
  ASSERT_TRUE(mgr_->detach(two.id, ""));
}

// Another program changing its own tables (podman's netavark does on every container) moves
// the ruleset generation but leaves berth's table as it was: it is not rebuilt (its handle,
// and so its fingerprint, stay). A rule someone removed from it is put back.
TEST_F(NetTest, OnlyAChangeToBerthsOwnTableRebuildsIt) {
  Ctr one = make_ctr("one");
  ASSERT_TRUE(mgr_->attach({.container_id = one.id, .netns_path = one.netns}));
  std::string before = *nft::table_fingerprint(cfg_.table);
  ASSERT_EQ(before.rfind("table ", 0), 0u) << before;
  uint32_t gen = *nft::generation();
  ASSERT_TRUE(nft::run("add table inet berth_test_other\ndelete table inet berth_test_other"));
  ASSERT_NE(*nft::generation(), gen);
  Ctr two = make_ctr("two");
  ASSERT_TRUE(mgr_->attach({.container_id = two.id, .netns_path = two.netns}));
  EXPECT_EQ(*nft::table_fingerprint(cfg_.table), before) << "the table was rebuilt";

  // Someone deletes one of berth's rules: the next change of attachments restores it.
  size_t at = before.find("postrouting:");
  ASSERT_NE(at, std::string::npos) << before;
  std::string handle = before.substr(at + 12, before.find(' ', at) - at - 12);
  ASSERT_TRUE(nft::run("delete rule ip " + cfg_.table + " postrouting handle " + handle));
  ASSERT_TRUE(mgr_->detach(two.id, ""));
  std::string after = *nft::table_fingerprint(cfg_.table);
  EXPECT_NE(after, before);
  EXPECT_EQ(std::count(after.begin(), after.end(), ':'),
            std::count(before.begin(), before.end(), ':'))
      << "every rule is back: " << after;
  ASSERT_TRUE(mgr_->detach(one.id, ""));
}

TEST_F(NetTest, AttachGivesAddressRouteMacAndEtcFiles) {
  Ctr c = make_ctr("web");
  auto a = mgr_->attach({.container_id = c.id,
                         .container_name = c.name,
                         .hostname = "webhost",
                         .netns_path = c.netns});
  ASSERT_TRUE(a) << a.error().text();
  Subnet sn = *parse_subnet(subnet(0));
  EXPECT_EQ(a->network_name, "bridge");
  EXPECT_EQ(a->ifname, "eth0");
  EXPECT_EQ(a->ip, sn.host(2));
  EXPECT_EQ(a->gateway, sn.host(1));
  EXPECT_EQ(a->prefix, 24);
  EXPECT_EQ(a->dns, Ipv4{});  // the default network has no embedded DNS
  EXPECT_EQ(a->mac.rfind("02:42:0a:", 0), 0u) << a->mac;
  EXPECT_TRUE(link_exists(a->host_veth));
  EXPECT_TRUE(link_exists(cfg_.default_bridge));

  auto addr = in(c, {busybox(), "ip", "-o", "-4", "addr", "show", "eth0"});
  EXPECT_NE(addr.out.find(a->ip.str() + "/24"), std::string::npos) << addr.out;
  auto route = in(c, {busybox(), "ip", "route"});
  EXPECT_NE(route.out.find("default via " + a->gateway.str()), std::string::npos) << route.out;
  auto mac = in(c, {busybox(), "ip", "-o", "link", "show", "eth0"});
  EXPECT_NE(mac.out.find("link/ether " + a->mac + " "), std::string::npos) << mac.out;
  // 64 KiB frames inside the network (the bridge, both veth ends); the way out through the
  // host's uplink has the uplink's MTU, as a route metric that TCP takes its MSS from.
  EXPECT_NE(mac.out.find("mtu 65535"), std::string::npos) << mac.out;
  EXPECT_EQ(berth::test::read_file("/sys/class/net/" + a->host_veth + "/mtu"), "65535\n");
  EXPECT_EQ(berth::test::read_file("/sys/class/net/" + cfg_.default_bridge + "/mtu"), "65535\n");
  auto full_route = in(c, {"/usr/sbin/ip", "route", "show", "default"});
  EXPECT_NE(full_route.out.find(fmt::format("mtu {}", detail::uplink_mtu())), std::string::npos)
      << full_route.out << full_route.err;
  // The gateway (the host) answers over the bridge.
  auto ping = in(c, {busybox(), "ping", "-c", "1", "-W", "3", a->gateway.str()});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;

  auto etc = mgr_->etc_files(c.id);
  ASSERT_TRUE(etc);
  EXPECT_EQ(etc->hostname, "webhost\n");
  EXPECT_NE(etc->hosts.find(a->ip.str() + "\twebhost web\n"), std::string::npos) << etc->hosts;
  // The host's loopback resolver is useless in a container; the other one is kept.
  EXPECT_EQ(etc->resolv_conf.find("127.0.0.53"), std::string::npos) << etc->resolv_conf;
  EXPECT_NE(etc->resolv_conf.find("nameserver 198.51.100.53"), std::string::npos);

  auto list = mgr_->attachments(c.id);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].host_veth, a->host_veth);

  // Leaving: the veth pair and the record go; the bridge and its rules stay up for the next
  // container (as docker0 does) until `network prune` takes an idle network down.
  ASSERT_TRUE(mgr_->detach(c.id, ""));
  EXPECT_FALSE(link_exists(a->host_veth));
  EXPECT_TRUE(link_exists(cfg_.default_bridge));
  EXPECT_TRUE(*nft::table_exists(cfg_.table));
  auto pruned = mgr_->prune();
  ASSERT_TRUE(pruned) << pruned.error().text();
  EXPECT_TRUE(pruned->empty());  // the default network itself is never removed
  EXPECT_FALSE(link_exists(cfg_.default_bridge));
  EXPECT_FALSE(*nft::table_exists(cfg_.table));
  auto links = in(c, {busybox(), "ip", "-o", "link"});
  EXPECT_EQ(links.out.find("eth0"), std::string::npos) << links.out;
  EXPECT_EQ(mgr_->detach(c.id, "").error().kind(), ErrorKind::kNotFound);
}

TEST_F(NetTest, AddressesAreReusedAfterDetachAndDuplicatesRefused) {
  Ctr a = make_ctr("a"), b = make_ctr("b");
  auto ra = mgr_->attach({.container_id = a.id, .netns_path = a.netns});
  ASSERT_TRUE(ra) << ra.error().text();
  auto dup = mgr_->attach({.container_id = a.id, .netns_path = a.netns});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind(), ErrorKind::kAlreadyExists);
  auto rb = mgr_->attach({.container_id = b.id, .netns_path = b.netns, .ip = ra->ip.str()});
  ASSERT_FALSE(rb);
  EXPECT_EQ(rb.error().kind(), ErrorKind::kAlreadyExists);
  rb = mgr_->attach({.container_id = b.id, .netns_path = b.netns});
  ASSERT_TRUE(rb);
  EXPECT_NE(ra->ip, rb->ip);
  ASSERT_TRUE(mgr_->detach_all(a.id));
  // Addresses go out in turn: a's freed address waits while the next ones are handed out;
  // it is given again when the turn comes round (and can be asked for at once).
  Ctr c = make_ctr("c");
  auto rc = mgr_->attach({.container_id = c.id, .netns_path = c.netns});
  ASSERT_TRUE(rc);
  EXPECT_NE(rc->ip, ra->ip);
  EXPECT_EQ(rc->ip.v, rb->ip.v + 1);
  ASSERT_TRUE(mgr_->detach_all(c.id));
  Ctr e = make_ctr("e");
  auto re = mgr_->attach({.container_id = e.id, .netns_path = e.netns, .ip = ra->ip.str()});
  ASSERT_TRUE(re) << re.error().text();
  EXPECT_EQ(re->ip, ra->ip);
  // A failed attach (namespace gone) leaves nothing.
  Ctr d = make_ctr("d");
  remove_ctr(d);
  auto rd = mgr_->attach({.container_id = d.id, .netns_path = d.netns});
  EXPECT_FALSE(rd);
  auto info = mgr_->inspect("bridge");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->endpoints.size(), 2u);
}

// A bridge whose MAC was never set takes the lowest MAC of its ports (host-side veths have
// random ones), so it changed as containers came and went, and containers that had the old one
// in their neighbour caches were cut off from the gateway (and its DNS responder) for seconds.
TEST_F(NetTest, BridgeKeepsItsMacAsContainersComeAndGo) {
  auto bridge_mac = [&] {
    return std::string(
        trim(berth::test::read_file("/sys/class/net/" + cfg_.default_bridge + "/address")));
  };
  Ctr a = make_ctr("a"), b = make_ctr("b"), c = make_ctr("c");
  auto ra = mgr_->attach({.container_id = a.id, .netns_path = a.netns});
  ASSERT_TRUE(ra) << ra.error().text();
  std::string mac = bridge_mac();
  uint8_t want[6];
  mac_for(ra->gateway, want);
  EXPECT_EQ(mac, mac_str(want));  // 02:42 + the gateway's address, as containers have theirs
  auto rb = mgr_->attach({.container_id = b.id, .netns_path = b.netns});
  ASSERT_TRUE(rb) << rb.error().text();
  EXPECT_EQ(bridge_mac(), mac);
  // b learns the gateway's MAC, then the ports change under it.
  auto ping = in(b, {busybox(), "ping", "-c", "1", "-W", "3", rb->gateway.str()});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  auto rc = mgr_->attach({.container_id = c.id, .netns_path = c.netns});
  ASSERT_TRUE(rc) << rc.error().text();
  EXPECT_EQ(bridge_mac(), mac);
  ASSERT_TRUE(mgr_->detach_all(a.id));
  EXPECT_EQ(bridge_mac(), mac);
  ping = in(b, {busybox(), "ping", "-c", "1", "-W", "2", rb->gateway.str()});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
}

// A bridge made by a berth that did not set bridge MACs (still in use after an upgrade) keeps
// the MAC it has: its containers know that one.
TEST_F(NetTest, AnOlderBridgeKeepsTheMacItHas) {
  auto sys = [&](const std::string& what) {
    return std::string(
        trim(berth::test::read_file("/sys/class/net/" + cfg_.default_bridge + "/" + what)));
  };
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  ASSERT_TRUE(nl->create_bridge(cfg_.default_bridge, ""));  // untagged, its MAC not set
  ASSERT_NE(sys("addr_assign_type"), "3");
  std::string mac = sys("address");
  Ctr a = make_ctr("a"), b = make_ctr("b");
  auto ra = mgr_->attach({.container_id = a.id, .netns_path = a.netns});
  ASSERT_TRUE(ra) << ra.error().text();
  EXPECT_EQ(sys("addr_assign_type"), "3");  // NET_ADDR_SET: no longer follows its ports
  EXPECT_EQ(sys("address"), mac);
  auto rb = mgr_->attach({.container_id = b.id, .netns_path = b.netns});
  ASSERT_TRUE(rb) << rb.error().text();
  ASSERT_TRUE(mgr_->detach_all(a.id));
  EXPECT_EQ(sys("address"), mac);
}

TEST_F(NetTest, ConnectAndDisconnectASecondNetwork) {
  ASSERT_TRUE(mgr_->create({.name = "back", .subnet = subnet(1)}));
  Ctr c = make_ctr("app");
  auto a0 = mgr_->attach({.container_id = c.id, .container_name = c.name, .netns_path = c.netns});
  ASSERT_TRUE(a0) << a0.error().text();
  auto a1 = mgr_->attach(
      {.container_id = c.id, .container_name = c.name, .netns_path = c.netns, .network = "back"});
  ASSERT_TRUE(a1) << a1.error().text();
  EXPECT_EQ(a1->ifname, "eth1");
  EXPECT_EQ(a1->dns, a1->gateway);
  auto addr = in(c, {busybox(), "ip", "-o", "-4", "addr"});
  EXPECT_NE(addr.out.find(a0->ip.str()), std::string::npos);
  EXPECT_NE(addr.out.find(a1->ip.str()), std::string::npos);
  // The first network keeps the default route.
  auto route = in(c, {busybox(), "ip", "route"});
  EXPECT_NE(route.out.find("default via " + a0->gateway.str()), std::string::npos) << route.out;
  auto etc = mgr_->etc_files(c.id);
  ASSERT_TRUE(etc);
  EXPECT_NE(etc->resolv_conf.find("nameserver " + a1->gateway.str()), std::string::npos);
  EXPECT_NE(etc->hosts.find(a1->ip.str()), std::string::npos);

  auto rm = mgr_->remove("back");
  ASSERT_FALSE(rm);
  EXPECT_EQ(rm.error().kind(), ErrorKind::kFailedPrecondition);
  EXPECT_NE(rm.error().message().find("app"), std::string::npos) << rm.error().text();

  ASSERT_TRUE(mgr_->detach(c.id, "back"));
  addr = in(c, {busybox(), "ip", "-o", "-4", "addr"});
  EXPECT_EQ(addr.out.find(a1->ip.str()), std::string::npos);
  EXPECT_NE(addr.out.find(a0->ip.str()), std::string::npos);
  ASSERT_TRUE(mgr_->remove("back"));
  EXPECT_EQ(mgr_->inspect("back").error().kind(), ErrorKind::kNotFound);
}

TEST_F(NetTest, NetworkRecordsCreateListInspectRemovePrune) {
  auto a = mgr_->create({.name = "alpha"});
  ASSERT_TRUE(a) << a.error().text();
  EXPECT_TRUE(parse_subnet(cfg_.pool)->overlaps(a->subnet));
  EXPECT_EQ(a->gateway, a->subnet.host(1));
  auto b = mgr_->create({.name = "beta", .subnet = subnet(2), .gateway = "10.82.0.0"});
  EXPECT_FALSE(b);  // gateway outside
  b = mgr_->create({.name = "beta", .subnet = subnet(2), .internal = true});
  ASSERT_TRUE(b) << b.error().text();
  EXPECT_TRUE(b->internal);
  EXPECT_EQ(mgr_->create({.name = "beta"}).error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(mgr_->create({.name = "gamma", .subnet = subnet(2)}).error().kind(),
            ErrorKind::kAlreadyExists);  // overlaps beta
  EXPECT_FALSE(mgr_->create({.name = "bridge"}));
  EXPECT_FALSE(mgr_->create({.name = "host"}));
  EXPECT_FALSE(mgr_->create({.name = "bad/name"}));
  auto list = mgr_->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].net.name, "bridge");
  EXPECT_TRUE((*list)[0].net.is_default);
  EXPECT_EQ(mgr_->inspect(a->id.substr(0, 12))->net.name, "alpha");
  EXPECT_EQ(mgr_->remove("bridge").error().kind(), ErrorKind::kFailedPrecondition);
  ASSERT_TRUE(mgr_->remove("alpha"));
  auto pruned = mgr_->prune();
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, std::vector<std::string>{"beta"});
  EXPECT_EQ(mgr_->list()->size(), 1u);
  // No container ever came: nothing was made in the kernel.
  EXPECT_FALSE(*nft::table_exists(cfg_.table));
}

TEST_F(NetTest, InternalNetworkHasNoOutboundRoute) {
  ASSERT_TRUE(mgr_->create({.name = "secret", .subnet = subnet(3), .internal = true}));
  Ctr a = make_ctr("vault"), b = make_ctr("teller");
  auto ra = mgr_->attach(
      {.container_id = a.id, .container_name = a.name, .netns_path = a.netns, .network = "secret"});
  ASSERT_TRUE(ra) << ra.error().text();
  auto rb = mgr_->attach(
      {.container_id = b.id, .container_name = b.name, .netns_path = b.netns, .network = "secret"});
  ASSERT_TRUE(rb) << rb.error().text();
  EXPECT_EQ(ra->gateway, Ipv4{});
  auto route = in(a, {busybox(), "ip", "route"});
  EXPECT_EQ(route.out.find("default"), std::string::npos) << route.out;
  // Asking the kernel for a route sends nothing.
  auto get = in(a, {busybox(), "ip", "route", "get", "198.51.100.1"});
  EXPECT_NE(get.exit_code, 0);
  EXPECT_NE(get.err.find("unreachable"), std::string::npos) << get.err;
  // Inside the network, containers reach each other (and their names resolve).
  auto ping = in(b, {busybox(), "ping", "-c", "1", "-W", "3", ra->ip.str()});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  auto ns = in(b, {busybox(), "nslookup", "vault", rb->dns.str()});
  EXPECT_NE(ns.out.find(ra->ip.str()), std::string::npos) << ns.out << ns.err;
  // No masquerade for it; forwarding out of its bridge is dropped.
  auto rules = nft::list_json("list chain ip " + cfg_.table + " postrouting");
  ASSERT_TRUE(rules);
  auto j = nlohmann::json::parse(*rules);
  int outbound = 0;
  for (const auto& item : j["nftables"])
    if (item.contains("rule"))
      for (const auto& e : item["rule"]["expr"])
        if (e.contains("match") && e["match"]["op"] == "!=") ++outbound;
  EXPECT_EQ(outbound, 0) << *rules;
  auto fwd = nft::list_json("list chain ip " + cfg_.table + " forward");
  ASSERT_TRUE(fwd);
  EXPECT_NE(fwd->find("\"drop\""), std::string::npos) << *fwd;
}

}  // namespace
}  // namespace berth::net::test
