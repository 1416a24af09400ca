// rtnetlink through libnl-3: links (bridge, veth), addresses, routes, link state. A Netlink
// object is a socket bound to one network namespace; open_in() makes one inside a container's
// namespace without moving the calling thread (a short-lived helper thread joins the namespace
// and creates the socket, which stays bound to that namespace).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/ip.h"

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace berth::net {

// libnl-3 does the message and attribute encoding; these are the few steps around it that
// berth and libnl's own request helpers do differently (see netlink.cc).
namespace nl {

struct SockFree {
  void operator()(nl_sock* s) const;
};
struct MsgFree {
  void operator()(nl_msg* m) const;
};
using Sock = std::unique_ptr<nl_sock, SockFree>;
using Msg = std::unique_ptr<nl_msg, MsgFree>;

// A netlink socket of `protocol` (NETLINK_ROUTE, NETLINK_NETFILTER), close-on-exec, in the
// caller's network namespace.
Result<Sock> connect(int protocol);
// A message of `type` with `flags` and the family header `header` (ifinfomsg, nfgenmsg, ...).
Result<Msg> message(uint16_t type, uint16_t flags, const void* header, size_t header_len);
// Sends m (with the next sequence number, NLM_F_REQUEST and NLM_F_ACK) and reads the answers:
// each message goes to on_msg, up to the acknowledgement or, for a dump, NLMSG_DONE. Fails
// with the kernel's errno (kAlreadyExists for EEXIST, kNotFound for ENODEV and ENOENT). A dump
// the kernel marked interrupted (NLM_F_DUMP_INTR: what it listed changed meanwhile) is read to
// its end and then fails with errno EINTR.
Result<void> exchange(nl_sock* s, nl_msg* m, const std::function<void(const nlmsghdr*)>& on_msg,
                      std::string_view what);

}  // namespace nl

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string alias;  // IFLA_IFALIAS: berth marks the links it owns here
  std::string kind;   // "bridge", "veth", ... ("" when unknown)
  int master = 0;
  uint32_t mtu = 0;
  bool up = false;
  std::array<uint8_t, 6> mac{};  // IFLA_ADDRESS (zero when the link has none)
};

class Netlink {
 public:
  // A socket in the caller's network namespace.
  static Result<Netlink> open();
  // A socket in the network namespace netns_fd refers to.
  static Result<Netlink> open_in(int netns_fd);

  Netlink(Netlink&& o) noexcept = default;
  Netlink& operator=(Netlink&& o) noexcept = default;

  Result<std::vector<LinkInfo>> links();
  // kNotFound when absent.
  Result<LinkInfo> link(const std::string& name);

  // kAlreadyExists when a link of that name exists. With a MAC, the bridge keeps it for good;
  // without one, the kernel gives the bridge the lowest MAC of its ports, so its address
  // changes as ports come and go.
  Result<void> create_bridge(const std::string& name, const std::string& alias,
                             const uint8_t mac[6] = nullptr, uint32_t mtu = 0);
  // Creates the pair with the peer directly in its namespace (never visible in this one),
  // the host side attached to its bridge and up, the peer with its MAC, both in one message.
  Result<void> create_veth(const std::string& name, const std::string& alias, int master,
                           const std::string& peer_name, int peer_netns_fd,
                           const uint8_t peer_mac[6], uint32_t mtu = 0);
  // kNotFound when absent.
  Result<void> delete_link(int index);
  Result<void> set_up(int index);
  // Sets the link's MAC (a bridge given one keeps it: it no longer follows its ports).
  Result<void> set_mac(int index, const uint8_t mac[6]);
  // Lets a bridge port send frames back where they came from: a container reaching its own
  // published port when br_netfilter makes the bridge itself do the DNAT.
  Result<void> set_hairpin(int index);
  // The kernel ignores IFLA_IFALIAS when it creates a link: it is set afterwards.
  Result<void> set_alias(int index, const std::string& alias);
  // kAlreadyExists when the address is there already.
  Result<void> add_address(int index, Ipv4 ip, int prefix);
  // kNotFound when the address is not there.
  Result<void> delete_address(int index, Ipv4 ip, int prefix);
  // Makes link `index` a port of bridge `master` (0: no bridge).
  Result<void> set_master(int index, int master);
  // mtu: the route's MTU metric (0: the device's), which also sets TCP's MSS on it.
  Result<void> add_default_route(Ipv4 gateway, int index, uint32_t mtu = 0);
  // Destinations of every IPv4 route in the main table (for subnet collision checks).
  Result<std::vector<Subnet>> routes();

 private:
  explicit Netlink(nl::Sock s) : sock_(std::move(s)) {}
  Result<void> request(nl_msg* m, const std::string& what);

  nl::Sock sock_;
};

// The MAC berth gives a container's interface: locally administered, derived from its IPv4
// address (02:42:a.b.c.d) so that a reused address keeps its MAC and neighbours' caches stay
// right.
void mac_for(Ipv4 ip, uint8_t out[6]);
std::string mac_str(const uint8_t mac[6]);

}  // namespace berth::net
