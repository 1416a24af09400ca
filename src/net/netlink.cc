#include "net/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace berth::net {

namespace {

Error nl_error(int err, std::string_view what) {
  if (err == EEXIST) return Error(ErrorKind::kAlreadyExists, std::string(what), err);
  if (err == ENODEV || err == ENOENT) return Error(ErrorKind::kNotFound, std::string(what), err);
  return sys_error(err, "{}", what);
}

}  // namespace

namespace nl {

void SockFree::operator()(nl_sock* s) const { nl_socket_free(s); }
void MsgFree::operator()(nl_msg* m) const { nlmsg_free(m); }

Result<Sock> connect(int protocol) {
  Sock s(nl_socket_alloc());
  if (!s) return fail(sys_error(ENOMEM, "netlink: allocate a socket"));
  // libnl opens it close-on-exec; answers larger than the buffer are peeked at first.
  if (int r = nl_connect(s.get(), protocol); r < 0)
    return fail(make_error(ErrorKind::kSystem, "open a netlink socket: {}", nl_geterror(r)));
  nl_socket_enable_msg_peek(s.get());
  return s;
}

Result<Msg> message(uint16_t type, uint16_t flags, const void* header, size_t header_len) {
  Msg m(nlmsg_alloc_simple(type, flags));
  if (!m || nlmsg_append(m.get(), const_cast<void*>(header), header_len, NLMSG_ALIGNTO) < 0)
    return fail(sys_error(ENOMEM, "netlink: build a message"));
  return m;
}

Result<void> exchange(nl_sock* s, nl_msg* m, const std::function<void(const nlmsghdr*)>& on_msg,
                      std::string_view what) {
  // nl_send_auto adds our port, the next sequence number, NLM_F_REQUEST and NLM_F_ACK.
  if (int r = nl_send_auto(s, m); r < 0)
    return fail(make_error(ErrorKind::kSystem, "netlink send: {}: {}", what, nl_geterror(r)));
  uint32_t seq = nlmsg_hdr(m)->nlmsg_seq;
  bool interrupted = false;
  while (true) {
    unsigned char* buf = nullptr;
    sockaddr_nl from{};
    int n = nl_recv(s, &from, &buf, nullptr);
    std::unique_ptr<unsigned char, decltype(&free)> own(buf, free);
    if (n == -NLE_INTR) continue;
    if (n <= 0)
      return fail(make_error(ErrorKind::kSystem, "netlink receive: {}: {}", what,
                             n == 0 ? "end of file" : nl_geterror(n)));
    int left = n;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
      if (h->nlmsg_seq != seq) continue;  // an answer to an earlier, abandoned request
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) {
        if (interrupted) return fail(nl_error(EINTR, what));
        return {};
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<const nlmsgerr*>(nlmsg_data(h));
        if (h->nlmsg_len < static_cast<uint32_t>(nlmsg_size(sizeof(nlmsgerr))))
          return fail(make_error(ErrorKind::kInternal, "netlink: {}: short error message", what));
        if (e->error != 0) return fail(nl_error(-e->error, what));
        return {};  // the acknowledgement
      }
      if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN) continue;
      on_msg(h);
    }
  }
}

}  // namespace nl

Result<Netlink> Netlink::open() { return Netlink(BERTH_TRY(nl::connect(NETLINK_ROUTE))); }

Result<Netlink> Netlink::open_in(int netns_fd) {
  // setns() moves only the calling thread; a socket keeps the namespace it was created in.
  Result<Netlink> out = fail(make_error(ErrorKind::kInternal, "netns helper thread"));
  std::thread t([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = fail(sys_error(errno, "join network namespace"));
      return;
    }
    out = open();
  });
  t.join();
  return out;
}

Result<void> Netlink::request(nl_msg* m, const std::string& what) {
  return nl::exchange(
      sock_.get(), m, [](const nlmsghdr*) {}, what);
}

namespace {

LinkInfo link_from(const nlmsghdr* nlh) {
  auto* ifm = static_cast<const ifinfomsg*>(nlmsg_data(nlh));
  nlattr* tb[IFLA_MAX + 1] = {};
  nlmsg_parse(const_cast<nlmsghdr*>(nlh), sizeof(*ifm), tb, IFLA_MAX, nullptr);
  LinkInfo l;
  l.index = ifm->ifi_index;
  l.up = (ifm->ifi_flags & IFF_UP) != 0;
  if (tb[IFLA_IFNAME]) l.name = nla_get_string(tb[IFLA_IFNAME]);
  if (tb[IFLA_IFALIAS]) l.alias = nla_get_string(tb[IFLA_IFALIAS]);
  if (tb[IFLA_MASTER]) l.master = static_cast<int>(nla_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_MTU]) l.mtu = nla_get_u32(tb[IFLA_MTU]);
  if (tb[IFLA_ADDRESS] && static_cast<size_t>(nla_len(tb[IFLA_ADDRESS])) == l.mac.size())
    memcpy(l.mac.data(), nla_data(tb[IFLA_ADDRESS]), l.mac.size());
  if (tb[IFLA_LINKINFO]) {
    nlattr* info[IFLA_INFO_MAX + 1] = {};
    nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr);
    if (info[IFLA_INFO_KIND]) l.kind = nla_get_string(info[IFLA_INFO_KIND]);
  }
  return l;
}

// A dump request; on_msg gathers. When the kernel marks a dump interrupted (links come and go
// when many containers start at once), reset() drops what was gathered and the dump is asked
// for again (a fresh message: each send takes a new sequence number).
Result<void> dump(nl_sock* s, const std::function<Result<nl::Msg>()>& make,
                  const std::function<void(const nlmsghdr*)>& on_msg,
                  const std::function<void()>& reset, const char* what) {
  constexpr int kAttempts = 20;
  for (int attempt = 1;; ++attempt) {
    nl::Msg m = BERTH_TRY(make());
    auto r = nl::exchange(s, m.get(), on_msg, what);
    if (r) return {};
    if (r.error().sys_errno() != EINTR) return fail(std::move(r.error()));
    if (attempt == kAttempts)
      return fail(make_error(ErrorKind::kUnavailable,
                             "netlink: {}: the list kept changing ({} attempts)", what, attempt));
    reset();
  }
}

}  // namespace

namespace {

// The start of every link request: the netlink header and an ifinfomsg for link `index`
// (0: none; up: bring it up too). Attributes follow with nla_put*.
Result<nl::Msg> link_msg(uint16_t type, uint16_t flags, int index, bool up = false,
                         unsigned char family = AF_UNSPEC) {
  ifinfomsg ifm{};
  ifm.ifi_family = family;
  ifm.ifi_index = index;
  if (up) ifm.ifi_flags = ifm.ifi_change = IFF_UP;
  return nl::message(type, flags, &ifm, sizeof ifm);
}

Result<nl::Msg> addr_msg(uint16_t type, uint16_t flags, int index, Ipv4 ip, int prefix) {
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(index);
  nl::Msg m = BERTH_TRY(nl::message(type, flags, &ifa, sizeof ifa));
  nla_put_u32(m.get(), IFA_LOCAL, htonl(ip.v));
  return m;
}

}  // namespace

Result<std::vector<LinkInfo>> Netlink::links() {
  std::vector<LinkInfo> out;
  BERTH_CHECK(dump(
      sock_.get(), [] { return link_msg(RTM_GETLINK, NLM_F_DUMP, 0); },
      [&out](const nlmsghdr* h) { out.push_back(link_from(h)); }, [&out] { out.clear(); },
      "list links"));
  return out;
}

Result<LinkInfo> Netlink::link(const std::string& name) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_GETLINK, 0, 0));
  nla_put_string(m.get(), IFLA_IFNAME, name.c_str());
  std::optional<LinkInfo> out;
  BERTH_CHECK(nl::exchange(
      sock_.get(), m.get(),
      [&out](const nlmsghdr* h) {
        if (h->nlmsg_type == RTM_NEWLINK && !out) out = link_from(h);
      },
      fmt::format("link {}", name)));
  if (!out) return fail(make_error(ErrorKind::kNotFound, "link {}", name));
  return *out;
}

Result<void> Netlink::create_bridge(const std::string& name, const std::string& alias,
                                    const uint8_t mac[6], uint32_t mtu) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0));
  nla_put_string(m.get(), IFLA_IFNAME, name.c_str());
  if (mac) nla_put(m.get(), IFLA_ADDRESS, 6, mac);
  if (mtu) nla_put_u32(m.get(), IFLA_MTU, mtu);
  nlattr* info = nla_nest_start(m.get(), IFLA_LINKINFO);
  nla_put_string(m.get(), IFLA_INFO_KIND, "bridge");
  nla_nest_end(m.get(), info);
  BERTH_CHECK(request(m.get(), fmt::format("create bridge {}", name)));
  auto l = BERTH_TRY(link(name));
  return set_alias(l.index, alias);
}

Result<void> Netlink::create_veth(const std::string& name, const std::string& alias, int master,
                                  const std::string& peer_name, int peer_netns_fd,
                                  const uint8_t peer_mac[6], uint32_t mtu) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, /*up=*/true));
  nl_msg* msg = m.get();
  nla_put_string(msg, IFLA_IFNAME, name.c_str());
  if (master > 0) nla_put_u32(msg, IFLA_MASTER, static_cast<uint32_t>(master));
  if (mtu) nla_put_u32(msg, IFLA_MTU, mtu);
  nlattr* info = nla_nest_start(msg, IFLA_LINKINFO);
  nla_put_string(msg, IFLA_INFO_KIND, "veth");
  nlattr* data = nla_nest_start(msg, IFLA_INFO_DATA);
  nlattr* peer = nla_nest_start(msg, VETH_INFO_PEER);
  // The peer's own ifinfomsg opens VETH_INFO_PEER, its attributes follow it.
  ifinfomsg pifm{};
  pifm.ifi_family = AF_UNSPEC;
  if (nlmsg_append(msg, &pifm, sizeof pifm, NLMSG_ALIGNTO) < 0)
    return fail(sys_error(ENOMEM, "netlink: build a veth request"));
  nla_put_string(msg, IFLA_IFNAME, peer_name.c_str());
  if (peer_netns_fd >= 0) nla_put_u32(msg, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (peer_mac) nla_put(msg, IFLA_ADDRESS, 6, peer_mac);
  if (mtu) nla_put_u32(msg, IFLA_MTU, mtu);
  nla_nest_end(msg, peer);
  nla_nest_end(msg, data);
  nla_nest_end(msg, info);
  BERTH_CHECK(request(msg, fmt::format("create veth {} (peer {})", name, peer_name)));
  if (alias.empty()) return {};
  auto l = BERTH_TRY(link(name));
  return set_alias(l.index, alias);
}

Result<void> Netlink::delete_link(int index) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_DELLINK, 0, index));
  return request(m.get(), fmt::format("delete link {}", index));
}

Result<void> Netlink::set_up(int index) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, 0, index, /*up=*/true));
  return request(m.get(), fmt::format("set link {} up", index));
}

Result<void> Netlink::set_mac(int index, const uint8_t mac[6]) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, 0, index));
  nla_put(m.get(), IFLA_ADDRESS, 6, mac);
  return request(m.get(), fmt::format("set MAC {} on link {}", mac_str(mac), index));
}

Result<void> Netlink::set_hairpin(int index) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_SETLINK, 0, index, false, AF_BRIDGE));
  nlattr* proto = nla_nest_start(m.get(), IFLA_PROTINFO);
  nla_put_u8(m.get(), IFLA_BRPORT_MODE, 1);
  nla_nest_end(m.get(), proto);
  return request(m.get(), fmt::format("set hairpin mode on link {}", index));
}

Result<void> Netlink::set_alias(int index, const std::string& alias) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, 0, index));
  nla_put_string(m.get(), IFLA_IFALIAS, alias.c_str());
  return request(m.get(), fmt::format("set alias of link {}", index));
}

Result<void> Netlink::add_address(int index, Ipv4 ip, int prefix) {
  nl::Msg m = BERTH_TRY(addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, ip, prefix));
  nla_put_u32(m.get(), IFA_ADDRESS, htonl(ip.v));
  if (prefix < 31) {
    Subnet sn{Ipv4{ip.v & (prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix))}, prefix};
    nla_put_u32(m.get(), IFA_BROADCAST, htonl(sn.broadcast().v));
  }
  return request(m.get(), fmt::format("add address {}/{} to link {}", ip.str(), prefix, index));
}

Result<void> Netlink::delete_address(int index, Ipv4 ip, int prefix) {
  nl::Msg m = BERTH_TRY(addr_msg(RTM_DELADDR, 0, index, ip, prefix));
  return request(m.get(), fmt::format("delete address {}/{} of link {}", ip.str(), prefix, index));
}

Result<void> Netlink::set_master(int index, int master) {
  nl::Msg m = BERTH_TRY(link_msg(RTM_NEWLINK, 0, index));
  nla_put_u32(m.get(), IFLA_MASTER, static_cast<uint32_t>(master));
  return request(m.get(), fmt::format("set master of link {} to {}", index, master));
}

Result<void> Netlink::add_default_route(Ipv4 gateway, int index, uint32_t mtu) {
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  rtm.rtm_dst_len = 0;
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_BOOT;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_type = RTN_UNICAST;
  nl::Msg m = BERTH_TRY(nl::message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof rtm));
  nla_put_u32(m.get(), RTA_GATEWAY, htonl(gateway.v));
  nla_put_u32(m.get(), RTA_OIF, static_cast<uint32_t>(index));
  if (mtu) {
    nlattr* metrics = nla_nest_start(m.get(), RTA_METRICS);
    nla_put_u32(m.get(), RTAX_MTU, mtu);
    nla_nest_end(m.get(), metrics);
  }
  return request(m.get(), fmt::format("add default route via {}", gateway.str()));
}

Result<std::vector<Subnet>> Netlink::routes() {
  std::vector<Subnet> out;
  auto on_route = [&out](const nlmsghdr* h) {
    auto* rtm = static_cast<const rtmsg*>(nlmsg_data(h));
    if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN) return;
    nlattr* tb[RTA_MAX + 1] = {};
    nlmsg_parse(const_cast<nlmsghdr*>(h), sizeof(*rtm), tb, RTA_MAX, nullptr);
    uint32_t dst = tb[RTA_DST] ? ntohl(nla_get_u32(tb[RTA_DST])) : 0;
    int len = rtm->rtm_dst_len;
    if (len == 0) return;  // the default route collides with nothing
    uint32_t mask = ~uint32_t{0} << (32 - len);
    out.push_back(Subnet{Ipv4{dst & mask}, len});
  };
  auto make = [] {
    rtmsg rtm{};
    rtm.rtm_family = AF_INET;
    return nl::message(RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof rtm);
  };
  BERTH_CHECK(dump(
      sock_.get(), make, on_route, [&out] { out.clear(); }, "list routes"));
  return out;
}

void mac_for(Ipv4 ip, uint8_t out[6]) {
  out[0] = 0x02;
  out[1] = 0x42;
  out[2] = static_cast<uint8_t>(ip.v >> 24);
  out[3] = static_cast<uint8_t>(ip.v >> 16);
  out[4] = static_cast<uint8_t>(ip.v >> 8);
  out[5] = static_cast<uint8_t>(ip.v);
}

std::string mac_str(const uint8_t mac[6]) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

}  // namespace berth::net
