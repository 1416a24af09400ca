// rtnetlink through libmnl: links (bridge, veth), addresses, routes, link state. A Netlink
// object is a socket bound to one network namespace; open_in() makes one inside a container's
// namespace without moving the calling thread (a short-lived helper thread joins the namespace
// and creates the socket, which stays bound to that namespace).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/ip.h"

struct mnl_socket;

namespace berth::net {

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

  Netlink(Netlink&& o) noexcept;
  Netlink& operator=(Netlink&& o) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

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
  explicit Netlink(mnl_socket* s);
  Result<void> request(void* nlh, const std::string& what);

  mnl_socket* sock_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
};

// The MAC berth gives a container's interface: locally administered, derived from its IPv4
// address (02:42:a.b.c.d) so that a reused address keeps its MAC and neighbours' caches stay
// right.
void mac_for(Ipv4 ip, uint8_t out[6]);
std::string mac_str(const uint8_t mac[6]);

}  // namespace berth::net
