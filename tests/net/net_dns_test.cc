// Containers on a user network find each other by name and alias, and see changes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "base/file.h"
#include "net/dns_msg.h"
#include "net_fixture.h"

namespace berth::net::test {
namespace {

TEST_F(NetTest, ContainersReachEachOtherByNameAndAlias) {
  ASSERT_TRUE(mgr_->create({.name = "front", .subnet = subnet(1)}));
  Ctr web = make_ctr("web"), client = make_ctr("client");
  auto aw = mgr_->attach({.container_id = web.id,
                          .container_name = web.name,
                          .aliases = {"www"},
                          .netns_path = web.netns,
                          .network = "front"});
  ASSERT_TRUE(aw) << aw.error().text();
  auto ac = mgr_->attach({.container_id = client.id,
                          .container_name = client.name,
                          .netns_path = client.netns,
                          .network = "front"});
  ASSERT_TRUE(ac) << ac.error().text();
  ASSERT_EQ(ac->dns, ac->gateway);

  std::string www = dir() + "/www";
  ASSERT_TRUE(file::mkdir_all(www));
  std::ofstream(www + "/index.html") << "hello from web\n";
  spawn(web, {busybox(), "httpd", "-f", "-p", "80", "-h", www});
  ASSERT_TRUE(wait_listening(web, 80));

  // By name and alias, through the container's resolv.conf (the embedded responder): wget
  // (busybox-static's wget crashes with -T, so the harness's timeout bounds it) and nc.
  for (const std::string& name :
       std::vector<std::string>{"web", "www", "WEB", web.id.substr(0, 12)}) {
    auto r = in(client, {busybox(), "wget", "-q", "-O", "-", "http://" + name + "/"}, 20, true);
    EXPECT_EQ(r.out, "hello from web\n") << name << ": " << r.err;
  }
  for (const std::string& name :
       std::vector<std::string>{"web", "www", "WEB", web.id.substr(0, 12)}) {
    auto r = in(client,
                {"sh", "-c",
                 "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | " + busybox() + " nc -w 5 " +
                     name + " 80"},
                20, true);
    EXPECT_NE(r.out.find("hello from web"), std::string::npos) << name << ": " << r.err;
  }
  auto ns = in(client, {busybox(), "nslookup", "www", ac->dns.str()});
  EXPECT_NE(ns.out.find(aw->ip.str()), std::string::npos) << ns.out << ns.err;
  auto byip =
      in(client, {busybox(), "wget", "-q", "-O", "-", "http://" + aw->ip.str() + "/index.html"});
  EXPECT_EQ(byip.out, "hello from web\n") << byip.err;

  // Reverse lookup of a container's address.
  auto rev = in(client, {busybox(), "nslookup", aw->ip.str(), ac->dns.str()});
  EXPECT_NE(rev.out.find("web"), std::string::npos) << rev.out;

  // A container that comes later is found at once; one that leaves is gone at once.
  Ctr late = make_ctr("late");
  auto al = mgr_->attach({.container_id = late.id,
                          .container_name = late.name,
                          .netns_path = late.netns,
                          .network = "front"});
  ASSERT_TRUE(al);
  // Asked once, not retried: this lookup timed out when the late container's port changed the
  // bridge's MAC under the client's neighbour cache (see ensure_bridge).
  auto found = in(client, {busybox(), "nslookup", "late", ac->dns.str()});
  EXPECT_NE(found.out.find(al->ip.str()), std::string::npos) << found.out << found.err;
  ASSERT_TRUE(mgr_->detach(web.id, "front"));
  auto gone = in(client, {busybox(), "nslookup", "web", ac->dns.str()});
  EXPECT_NE(gone.exit_code, 0) << gone.out;
  EXPECT_EQ(gone.out.find(aw->ip.str()), std::string::npos) << gone.out;
  // ... because the responder said so (here SERVFAIL: the test's upstream refuses), not
  // because it could not be reached.
  EXPECT_NE(gone.out.find("can't find web"), std::string::npos) << gone.out << gone.err;
}

TEST_F(NetTest, NamesAreScopedToSharedNetworks) {
  ASSERT_TRUE(mgr_->create({.name = "n1", .subnet = subnet(1)}));
  ASSERT_TRUE(mgr_->create({.name = "n2", .subnet = subnet(2)}));
  Ctr a = make_ctr("alpha"), b = make_ctr("bravo"), both = make_ctr("both");
  auto aa = mgr_->attach(
      {.container_id = a.id, .container_name = a.name, .netns_path = a.netns, .network = "n1"});
  auto ab = mgr_->attach(
      {.container_id = b.id, .container_name = b.name, .netns_path = b.netns, .network = "n2"});
  auto x1 = mgr_->attach({.container_id = both.id,
                          .container_name = both.name,
                          .netns_path = both.netns,
                          .network = "n1"});
  auto x2 = mgr_->attach({.container_id = both.id,
                          .container_name = both.name,
                          .netns_path = both.netns,
                          .network = "n2"});
  ASSERT_TRUE(aa && ab && x1 && x2);
  // alpha (n1 only) does not see bravo (n2 only); "both" sees both through one server.
  auto no = in(a, {busybox(), "nslookup", "bravo", aa->dns.str()});
  EXPECT_EQ(no.out.find(ab->ip.str()), std::string::npos) << no.out;
  auto yes = in(both, {busybox(), "nslookup", "bravo", x1->dns.str()});
  EXPECT_NE(yes.out.find(ab->ip.str()), std::string::npos) << yes.out << yes.err;
  auto a_from_b = in(b, {busybox(), "nslookup", "both", ab->dns.str()});
  EXPECT_NE(a_from_b.out.find(x2->ip.str()), std::string::npos) << a_from_b.out;
  // Networks are isolated from each other.
  auto ping = in(a, {busybox(), "ping", "-c", "1", "-W", "1", ab->ip.str()});
  EXPECT_NE(ping.exit_code, 0);
}

// A stand-in for the host's resolver, on loopback: answers every A query with 198.51.100.7.
class FakeUpstream {
 public:
  FakeUpstream() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t l = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &l);
    port_ = ntohs(sa.sin_port);
    t_ = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    t_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      uint8_t buf[512];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      auto q = dns::parse_query(buf, n > 0 ? static_cast<size_t>(n) : 0);
      if (!q) continue;
      ++queries_;
      std::vector<Ipv4> a;
      if (q->qtype == dns::kTypeA) a.push_back(*parse_ipv4("198.51.100.7"));
      auto out = dns::build_response(buf, *q, 0, a, {}, 60);
      sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread t_;
};

TEST_F(NetTest, OtherNamesAreForwardedUpstream) {
  FakeUpstream up;
  cfg_.dns_upstreams = {fmt::format("127.0.0.1:{}", up.port())};
  mgr_ = std::make_unique<Manager>(cfg_);
  ASSERT_TRUE(mgr_->create({.name = "fwd", .subnet = subnet(1)}));
  Ctr c = make_ctr("asker");
  auto a = mgr_->attach(
      {.container_id = c.id, .container_name = c.name, .netns_path = c.netns, .network = "fwd"});
  ASSERT_TRUE(a) << a.error().text();
  auto r = in(c, {busybox(), "nslookup", "example.test", a->dns.str()});
  EXPECT_NE(r.out.find("198.51.100.7"), std::string::npos) << r.out << r.err;
  EXPECT_GE(up.queries(), 1);
  // Its own name is answered without asking upstream.
  int before = up.queries();
  auto own = in(c, {busybox(), "nslookup", "asker", a->dns.str()});
  EXPECT_NE(own.out.find(a->ip.str()), std::string::npos) << own.out;
  EXPECT_EQ(up.queries(), before);
}

TEST_F(NetTest, ResponderStopsWithTheLastContainerAndNeverOutlivesItsNetwork) {
  ASSERT_TRUE(mgr_->create({.name = "dnsnet", .subnet = subnet(1)}));
  Ctr c = make_ctr("solo");
  auto a = mgr_->attach(
      {.container_id = c.id, .container_name = c.name, .netns_path = c.netns, .network = "dnsnet"});
  ASSERT_TRUE(a);
  auto procs = [&] {
    int n = 0;
    for (const auto& l : leftovers()) n += l.rfind("process", 0) == 0;
    return n;
  };
  EXPECT_EQ(procs(), 1);
  ASSERT_TRUE(mgr_->detach_all(c.id));
  berth::test::reap_orphans();
  EXPECT_EQ(procs(), 0);
  // Started again; then its store vanishes under it (a test's temp root, a hand-made rm -rf):
  // it notices and exits by itself.
  auto again = mgr_->attach(
      {.container_id = c.id, .container_name = c.name, .netns_path = c.netns, .network = "dnsnet"});
  ASSERT_TRUE(again);
  EXPECT_EQ(procs(), 1);
  std::string lock = cfg_.dir + "/dns/" + again->network_id + ".lock";
  ASSERT_EQ(unlink(lock.c_str()), 0);
  for (int i = 0; i < 60 && procs() > 0; ++i) {
    usleep(100000);
    berth::test::reap_orphans();
  }
  EXPECT_EQ(procs(), 0);
}

}  // namespace
}  // namespace berth::net::test
