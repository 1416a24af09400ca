#include <gtest/gtest.h>

#include "net/dns_msg.h"
#include "net/dns_records.h"
#include "net/dns_server.h"

namespace berth::net {
namespace {

TEST(NetDnsMsg, QueryRoundTrip) {
  auto q = dns::build_query(0x1234, "Web.Example", dns::kTypeA);
  auto p = dns::parse_query(q.data(), q.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 0x1234);
  EXPECT_EQ(p->name, "web.example");
  EXPECT_EQ(p->qtype, dns::kTypeA);
  EXPECT_EQ(p->qclass, dns::kClassIn);
  EXPECT_EQ(p->question_end, q.size());
}

TEST(NetDnsMsg, AnswerWithRecords) {
  auto q = dns::build_query(7, "web", dns::kTypeA);
  auto p = *dns::parse_query(q.data(), q.size());
  auto r = dns::build_response(q.data(), p, dns::kNoError,
                               {*parse_ipv4("10.80.0.2"), *parse_ipv4("10.80.0.3")}, {}, 5);
  auto a = dns::parse_response(r.data(), r.size());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 7);
  EXPECT_EQ(a->rcode, 0);
  ASSERT_EQ(a->a.size(), 2u);
  EXPECT_EQ(a->a[1].str(), "10.80.0.3");
  EXPECT_EQ(r[2] & 0x80, 0x80);  // QR
  EXPECT_EQ(r[2] & 0x01, 0x01);  // RD copied
  EXPECT_EQ(r[3] & 0x80, 0x80);  // RA

  auto rq = dns::build_query(8, dns::reverse_name(*parse_ipv4("10.80.0.2")), dns::kTypePtr);
  auto rp = *dns::parse_query(rq.data(), rq.size());
  EXPECT_EQ(rp.name, "2.0.80.10.in-addr.arpa");
  EXPECT_EQ(dns::parse_reverse_name(rp.name)->str(), "10.80.0.2");
  auto rr = dns::build_response(rq.data(), rp, 0, {}, {"web"}, 5);
  auto ra = dns::parse_response(rr.data(), rr.size());
  ASSERT_TRUE(ra);
  ASSERT_EQ(ra->ptr.size(), 1u);
  EXPECT_EQ(ra->ptr[0], "web");

  auto nx = dns::build_response(q.data(), p, dns::kNxDomain, {}, {}, 0);
  EXPECT_EQ(dns::parse_response(nx.data(), nx.size())->rcode, dns::kNxDomain);
}

TEST(NetDnsMsg, RejectsHostileMessages) {
  auto q = dns::build_query(1, "web", dns::kTypeA);
  for (size_t n = 0; n < q.size(); ++n) EXPECT_FALSE(dns::parse_query(q.data(), n)) << n;
  auto resp = q;
  resp[2] |= 0x80;
  EXPECT_FALSE(dns::parse_query(resp.data(), resp.size()));
  // A compression pointer in the question (and a loop).
  std::vector<uint8_t> loop = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  EXPECT_FALSE(dns::parse_query(loop.data(), loop.size()));
  auto r = loop;
  r[2] |= 0x80;
  r[7] = 1;  // one answer whose name points to itself
  r.insert(r.end(), {0xc0, 18});
  EXPECT_FALSE(dns::parse_response(r.data(), r.size()));
  // A label longer than the message.
  std::vector<uint8_t> longlabel = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 60, 'a', 'b'};
  EXPECT_FALSE(dns::parse_query(longlabel.data(), longlabel.size()));
  EXPECT_FALSE(dns::parse_reverse_name("1.2.3.in-addr.arpa"));
  EXPECT_FALSE(dns::parse_reverse_name("web"));
}

std::vector<DnsRecord> sample() {
  return parse_dns_records(
      "netA 10.80.0.2 c1 web www c1short\n"
      "netA 10.80.0.3 c2 db\n"
      "netB 10.81.0.2 c2 db dbb\n"
      "netB 10.81.0.3 c3 cache\n"
      "netA 10.80.0.4 c4 WWW\n"
      "garbage\n");
}

TEST(NetDnsRecords, RoundTrip) {
  auto r = sample();
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[4].names[0], "www");  // lower case
  EXPECT_EQ(parse_dns_records(format_dns_records(r)).size(), 5u);
}

TEST(NetDnsRecords, NamesOnSharedNetworksOnly) {
  auto r = sample();
  Ipv4 c1 = *parse_ipv4("10.80.0.2"), c2a = *parse_ipv4("10.80.0.3");
  // c1 is on netA only: it sees netA names, not netB's "cache".
  EXPECT_EQ(dns_lookup(r, "netA", c1, "db").size(), 1u);
  EXPECT_EQ(dns_lookup(r, "netA", c1, "db")[0].str(), "10.80.0.3");
  EXPECT_TRUE(dns_lookup(r, "netA", c1, "cache").empty());
  // c2 is on both: it resolves netB's cache through its netA responder.
  auto cache = dns_lookup(r, "netA", c2a, "cache");
  ASSERT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache[0].str(), "10.81.0.3");
  // Aliases shared by two containers give both addresses; case and a trailing dot ignored.
  EXPECT_EQ(dns_lookup(r, "netA", c1, "WWW.").size(), 2u);
  // Asked on netB, db is c2's netB address.
  EXPECT_EQ(dns_lookup(r, "netB", *parse_ipv4("10.81.0.3"), "db")[0].str(), "10.81.0.2");
  EXPECT_TRUE(dns_lookup(r, "netA", c1, "nothing").empty());
  auto rev = dns_reverse(r, "netA", c1, c2a);
  ASSERT_EQ(rev.size(), 1u);
  EXPECT_EQ(rev[0], "db");
  EXPECT_TRUE(dns_reverse(r, "netA", c1, *parse_ipv4("10.81.0.3")).empty());
}

TEST(NetDnsConf, RoundTrip) {
  DnsUpstreams u;
  u.forward = true;
  u.servers = {{*parse_ipv4("127.0.0.1"), 5300}, {*parse_ipv4("10.255.255.53"), 53}};
  auto back = parse_dns_conf(format_dns_conf(u));
  EXPECT_TRUE(back.forward);
  EXPECT_EQ(back.servers, u.servers);
  auto v6 = parse_dns_conf("forward 0\nupstream ::1\nupstream 1.2.3.4:0\n");
  EXPECT_FALSE(v6.forward);
  EXPECT_TRUE(v6.servers.empty());
}

}  // namespace
}  // namespace berth::net
