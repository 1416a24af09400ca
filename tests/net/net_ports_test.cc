// Published ports: from the host on 127.0.0.1, from another host, from other containers
// (hairpin), UDP, and a taken port as a clear error before anything is made.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "base/file.h"
#include "base/unique_fd.h"
#include "net/netlink.h"
#include "net_fixture.h"

namespace berth::net::test {
namespace {

// A host port nobody uses now (bound and released).
uint16_t free_port(int type) {
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t l = sizeof sa;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &l);
  return ntohs(sa.sin_port);
}

class NetPortsTest : public NetTest {
 protected:
  // Another host: a namespace joined to this one by a test-only veth pair, 10.85.x.0/30.
  Ctr make_other_host() {
    Ctr h = make_ctr("otherhost");
    std::string host_if = fmt::format("vbt{}", getpid() % 1000000);
    extra_links_.push_back(host_if);
    Subnet sn = *parse_subnet(subnet(5));
    host_addr_ = sn.host(1);
    auto r = berth::test::run(
        {"ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", h.netns});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    berth::test::run({"ip", "addr", "add", host_addr_.str() + "/30", "dev", host_if});
    berth::test::run({"ip", "link", "set", host_if, "up"});
    in(h, {busybox(), "ip", "addr", "add", sn.host(2).str() + "/30", "dev", "eth0"});
    in(h, {busybox(), "ip", "link", "set", "eth0", "up"});
    in(h, {busybox(), "ip", "link", "set", "lo", "up"});
    return h;
  }
  Ipv4 host_addr_;
};

TEST_F(NetPortsTest, PublishedTcpPortFromHostOtherHostAndContainers) {
  Ctr web = make_ctr("web"), peer = make_ctr("peer");
  uint16_t hp = free_port(SOCK_STREAM);
  auto aw = mgr_->attach({.container_id = web.id,
                          .container_name = web.name,
                          .netns_path = web.netns,
                          .ports = {*parse_port_spec(fmt::format("{}:80", hp))}});
  ASSERT_TRUE(aw) << aw.error().text();
  ASSERT_EQ(aw->ports.size(), 1u);
  EXPECT_EQ(aw->ports[0].host_port, hp);
  auto ap = mgr_->attach({.container_id = peer.id, .netns_path = peer.netns});
  ASSERT_TRUE(ap) << ap.error().text();

  std::string www = dir() + "/www";
  ASSERT_TRUE(file::mkdir_all(www));
  std::ofstream(www + "/f.txt") << "published\n";
  spawn(web, {busybox(), "httpd", "-f", "-p", "80", "-h", www});
  ASSERT_TRUE(wait_listening(web, 80));
  std::string path = fmt::format(":{}/f.txt", hp);

  // The host itself, on 127.0.0.1.
  auto local =
      berth::test::run({busybox(), "wget", "-q", "-O", "-", "http://127.0.0.1" + path}, "", 20);
  EXPECT_EQ(local.out, "published\n") << local.err;
  // Another host, through this host's address on their shared link.
  Ctr other = make_other_host();
  auto remote =
      in(other, {busybox(), "wget", "-q", "-O", "-", "http://" + host_addr_.str() + path});
  EXPECT_EQ(remote.out, "published\n") << remote.err;
  // Another container, through the host port (hairpin on the same bridge).
  auto hairpin =
      in(peer, {busybox(), "wget", "-q", "-O", "-", "http://" + ap->gateway.str() + path});
  EXPECT_EQ(hairpin.out, "published\n") << hairpin.err;
  // And the container itself through the host port.
  auto self = in(web, {busybox(), "wget", "-q", "-O", "-", "http://" + aw->gateway.str() + path});
  EXPECT_EQ(self.out, "published\n") << self.err;

  // Once it leaves, the port is closed again.
  ASSERT_TRUE(mgr_->detach(web.id, ""));
  auto after =
      berth::test::run({busybox(), "wget", "-q", "-O", "-", "http://127.0.0.1" + path}, "", 20);
  EXPECT_NE(after.exit_code, 0);
}

TEST_F(NetPortsTest, PublishedUdpPort) {
  Ctr dns = make_ctr("udpsrv");
  uint16_t hp = free_port(SOCK_DGRAM);
  auto a = mgr_->attach({.container_id = dns.id,
                         .netns_path = dns.netns,
                         .ports = {*parse_port_spec(fmt::format("127.0.0.1:{}:5000/udp", hp))}});
  ASSERT_TRUE(a) << a.error().text();
  // A UDP echo server in the container ("echo:" + the datagram, back to its sender).
  spawn_fn(dns, [] {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(5000);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) _exit(1);
    while (true) {
      char buf[512];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) continue;
      std::string reply = "echo:" + std::string(buf, static_cast<size_t>(n));
      sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
  ASSERT_TRUE(wait_listening(dns, 5000, true));
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  timeval tv{0, 200000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(hp);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  for (int i = 0; i < 25 && got.empty(); ++i) {
    sendto(fd.get(), "ping-udp", 8, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    char buf[64];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, "echo:ping-udp");
  // Published on 127.0.0.1 only: not on the host's other addresses.
  UniqueFd fd2(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  setsockopt(fd2.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sa.sin_addr.s_addr = htonl(a->gateway.v);
  sendto(fd2.get(), "ping-udp", 8, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  char buf[64];
  EXPECT_LT(recv(fd2.get(), buf, sizeof buf, 0), 0);
}

TEST_F(NetPortsTest, TakenPortIsAClearErrorBeforeAnythingIsMade) {
  Ctr a = make_ctr("first"), b = make_ctr("second"), c = make_ctr("third");
  uint16_t hp = free_port(SOCK_STREAM);
  ASSERT_TRUE(mgr_->attach({.container_id = a.id,
                            .netns_path = a.netns,
                            .ports = {*parse_port_spec(fmt::format("{}:80", hp))}}));
  // Taken by another container of berth.
  auto r = mgr_->attach({.container_id = b.id,
                         .netns_path = b.netns,
                         .ports = {*parse_port_spec(fmt::format("127.0.0.1:{}:8080", hp))}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(r.error().message().find(std::to_string(hp)), std::string::npos);
  // Taken by a host process listening there.
  UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(listen(l.get(), 1), 0);
  socklen_t sl = sizeof sa;
  getsockname(l.get(), reinterpret_cast<sockaddr*>(&sa), &sl);
  uint16_t busy = ntohs(sa.sin_port);
  r = mgr_->attach({.container_id = c.id,
                    .netns_path = c.netns,
                    .ports = {*parse_port_spec(fmt::format("{}:80", busy))}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
  // Neither left a record or a link; -P style ports still work.
  auto info = mgr_->inspect("bridge");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->endpoints.size(), 1u);
  auto ok = mgr_->attach({.container_id = c.id,
                          .netns_path = c.netns,
                          .ports = *publish_all_specs({"80/tcp", "53/udp", "9000-9001"})});
  ASSERT_TRUE(ok) << ok.error().text();
  ASSERT_EQ(ok->ports.size(), 4u);
  for (const auto& p : ok->ports) {
    EXPECT_NE(p.host_port, hp);
    EXPECT_NE(p.host_port, busy);
  }
  EXPECT_NE(ok->ports[2].host_port, ok->ports[3].host_port);
}

}  // namespace
}  // namespace berth::net::test
