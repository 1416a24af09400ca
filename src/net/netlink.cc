#include "net/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace berth::net {

namespace {

Error nl_error(int err, const std::string& what) {
  if (err == EEXIST) return Error(ErrorKind::kAlreadyExists, what, err);
  if (err == ENODEV || err == ENOENT) return Error(ErrorKind::kNotFound, what, err);
  return sys_error(err, "{}", what);
}

}  // namespace

Netlink::Netlink(mnl_socket* s) : sock_(s), portid_(mnl_socket_get_portid(s)) {
  seq_ = static_cast<uint32_t>(time(nullptr));
}

Netlink::Netlink(Netlink&& o) noexcept
    : sock_(std::exchange(o.sock_, nullptr)), portid_(o.portid_), seq_(o.seq_) {}

Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (sock_) mnl_socket_close(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
    portid_ = o.portid_;
    seq_ = o.seq_;
  }
  return *this;
}

Netlink::~Netlink() {
  if (sock_) mnl_socket_close(sock_);
}

Result<Netlink> Netlink::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) return fail(sys_error(errno, "open rtnetlink socket"));
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(s);
    return fail(sys_error(e, "bind rtnetlink socket"));
  }
  return Netlink(s);
}

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

Result<void> Netlink::request(void* buf, const std::string& what) {
  auto* nlh = static_cast<nlmsghdr*>(buf);
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0)
    return fail(sys_error(errno, "netlink send: {}", what));
  char rbuf[MNL_SOCKET_BUFFER_SIZE];
  while (true) {
    ssize_t n = mnl_socket_recvfrom(sock_, rbuf, sizeof rbuf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error(errno, "netlink receive: {}", what));
    }
    int r = mnl_cb_run(rbuf, static_cast<size_t>(n), nlh->nlmsg_seq, portid_, nullptr, nullptr);
    if (r < 0) return fail(nl_error(errno, what));
    if (r == MNL_CB_STOP) return {};
  }
}

namespace {

int link_attr_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0) return MNL_CB_OK;
  tb[type] = attr;
  return MNL_CB_OK;
}

int linkinfo_attr_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0) return MNL_CB_OK;
  tb[mnl_attr_get_type(attr)] = attr;
  return MNL_CB_OK;
}

int link_cb(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<LinkInfo>*>(data);
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[IFLA_MAX + 1] = {};
  mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
  LinkInfo l;
  l.index = ifm->ifi_index;
  l.up = (ifm->ifi_flags & IFF_UP) != 0;
  if (tb[IFLA_IFNAME]) l.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (tb[IFLA_IFALIAS]) l.alias = mnl_attr_get_str(tb[IFLA_IFALIAS]);
  if (tb[IFLA_MASTER]) l.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_MTU]) l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
  if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == l.mac.size())
    memcpy(l.mac.data(), mnl_attr_get_payload(tb[IFLA_ADDRESS]), l.mac.size());
  if (tb[IFLA_LINKINFO]) {
    const nlattr* info[IFLA_INFO_MAX + 1] = {};
    mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info);
    if (info[IFLA_INFO_KIND]) l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
  }
  out->push_back(std::move(l));
  return MNL_CB_OK;
}

// Whether the messages in buf end the dump (NLMSG_DONE, or an error in its place).
bool dump_ends_in(const char* buf, size_t len) {
  auto left = static_cast<int>(len);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left);
       nlh = mnl_nlmsg_next(nlh, &left))
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) return true;
  return false;
}

// A dump request; cb gathers into data. The kernel marks a dump NLM_F_DUMP_INTR when what it
// lists changed while it ran (links come and go when many containers start at once; libmnl
// then fails with EINTR): the rest of that dump is drained, reset() drops what was gathered,
// and the dump is asked for again.
template <typename Cb, typename Reset>
Result<void> dump(mnl_socket* sock, uint32_t portid, uint32_t& seq, nlmsghdr* nlh, Cb cb,
                  void* data, Reset reset, const char* what) {
  constexpr int kAttempts = 20;
  std::vector<char> rbuf(32768);
  for (int attempt = 1;; ++attempt) {
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq;
    if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
      return fail(sys_error(errno, "netlink send: {}", what));
    bool interrupted = false;
    while (true) {
      ssize_t n = mnl_socket_recvfrom(sock, rbuf.data(), rbuf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(sys_error(errno, "netlink receive: {}", what));
      }
      if (interrupted) {
        if (dump_ends_in(rbuf.data(), static_cast<size_t>(n))) break;
        continue;
      }
      int r = mnl_cb_run(rbuf.data(), static_cast<size_t>(n), seq, portid, cb, data);
      if (r < 0 && errno == EINTR) {
        interrupted = true;
        if (dump_ends_in(rbuf.data(), static_cast<size_t>(n))) break;
        continue;
      }
      if (r < 0) return fail(sys_error(errno, "netlink: {}", what));
      if (r == MNL_CB_STOP) return {};
    }
    if (attempt == kAttempts)
      return fail(make_error(ErrorKind::kUnavailable,
                             "netlink: {}: the list kept changing ({} attempts)", what, attempt));
    reset();
  }
}

}  // namespace

namespace {

// The start of every link request: the netlink header and an ifinfomsg for link `index`
// (0: none; up: bring it up too), in buf. Attributes follow with mnl_attr_put*.
nlmsghdr* link_msg(char* buf, uint16_t type, uint16_t flags, int index, bool up = false,
                   unsigned char family = AF_UNSPEC) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = family;
  ifm->ifi_index = index;
  if (up) ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  return nlh;
}

}  // namespace

Result<std::vector<LinkInfo>> Netlink::links() {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_GETLINK, 0, 0);
  std::vector<LinkInfo> out;
  BERTH_CHECK(dump(
      sock_, portid_, seq_, nlh, link_cb, &out, [&out] { out.clear(); }, "list links"));
  return out;
}

Result<LinkInfo> Netlink::link(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = ++seq_;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0)
    return fail(sys_error(errno, "netlink send: get link {}", name));
  char rbuf[MNL_SOCKET_BUFFER_SIZE];
  std::vector<LinkInfo> out;
  while (true) {
    ssize_t n = mnl_socket_recvfrom(sock_, rbuf, sizeof rbuf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error(errno, "netlink receive: get link {}", name));
    }
    int r = mnl_cb_run(rbuf, static_cast<size_t>(n), nlh->nlmsg_seq, portid_, link_cb, &out);
    if (r < 0) return fail(nl_error(errno, fmt::format("link {}", name)));
    if (!out.empty()) return out.front();
    if (r == MNL_CB_STOP) break;
  }
  return fail(make_error(ErrorKind::kNotFound, "link {}", name));
}

Result<void> Netlink::create_bridge(const std::string& name, const std::string& alias,
                                    const uint8_t mac[6], uint32_t mtu) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  BERTH_CHECK(request(nlh, fmt::format("create bridge {}", name)));
  auto l = BERTH_TRY(link(name));
  return set_alias(l.index, alias);
}

Result<void> Netlink::create_veth(const std::string& name, const std::string& alias, int master,
                                  const std::string& peer_name, int peer_netns_fd,
                                  const uint8_t peer_mac[6], uint32_t mtu) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, /*up=*/true);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (master > 0) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  auto* pifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  pifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
  if (peer_netns_fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (peer_mac) mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  BERTH_CHECK(request(nlh, fmt::format("create veth {} (peer {})", name, peer_name)));
  if (alias.empty()) return {};
  auto l = BERTH_TRY(link(name));
  return set_alias(l.index, alias);
}

Result<void> Netlink::delete_link(int index) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_DELLINK, 0, index);
  return request(nlh, fmt::format("delete link {}", index));
}

Result<void> Netlink::set_up(int index) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, 0, index, /*up=*/true);
  return request(nlh, fmt::format("set link {} up", index));
}

Result<void> Netlink::set_mac(int index, const uint8_t mac[6]) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, 0, index);
  mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  return request(nlh, fmt::format("set MAC {} on link {}", mac_str(mac), index));
}

Result<void> Netlink::set_hairpin(int index) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_SETLINK, 0, index, false, AF_BRIDGE);
  nlattr* proto = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
  mnl_attr_nest_end(nlh, proto);
  return request(nlh, fmt::format("set hairpin mode on link {}", index));
}

Result<void> Netlink::set_alias(int index, const std::string& alias) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, 0, index);
  mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias.c_str());
  return request(nlh, fmt::format("set alias of link {}", index));
}

Result<void> Netlink::add_address(int index, Ipv4 ip, int prefix) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(index);
  uint32_t addr = htonl(ip.v);
  mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
  if (prefix < 31) {
    Subnet sn{Ipv4{ip.v & (prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix))}, prefix};
    mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(sn.broadcast().v));
  }
  return request(nlh, fmt::format("add address {}/{} to link {}", ip.str(), prefix, index));
}

Result<void> Netlink::delete_address(int index, Ipv4 ip, int prefix) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_DELADDR;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_index = static_cast<unsigned>(index);
  mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(ip.v));
  return request(nlh, fmt::format("delete address {}/{} of link {}", ip.str(), prefix, index));
}

Result<void> Netlink::set_master(int index, int master) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = link_msg(buf, RTM_NEWLINK, 0, index);
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
  return request(nlh, fmt::format("set master of link {} to {}", index, master));
}

Result<void> Netlink::add_default_route(Ipv4 gateway, int index, uint32_t mtu) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway.v));
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(index));
  if (mtu) {
    nlattr* metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
    mnl_attr_put_u32(nlh, RTAX_MTU, mtu);
    mnl_attr_nest_end(nlh, metrics);
  }
  return request(nlh, fmt::format("add default route via {}", gateway.str()));
}

namespace {

int route_attr_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  if (mnl_attr_type_valid(attr, RTA_MAX) < 0) return MNL_CB_OK;
  tb[mnl_attr_get_type(attr)] = attr;
  return MNL_CB_OK;
}

int route_cb(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<Subnet>*>(data);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN) return MNL_CB_OK;
  const nlattr* tb[RTA_MAX + 1] = {};
  mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
  uint32_t dst = tb[RTA_DST] ? ntohl(mnl_attr_get_u32(tb[RTA_DST])) : 0;
  int len = rtm->rtm_dst_len;
  if (len == 0) return MNL_CB_OK;  // the default route collides with nothing
  uint32_t mask = ~uint32_t{0} << (32 - len);
  out->push_back(Subnet{Ipv4{dst & mask}, len});
  return MNL_CB_OK;
}

}  // namespace

Result<std::vector<Subnet>> Netlink::routes() {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETROUTE;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  std::vector<Subnet> out;
  BERTH_CHECK(dump(
      sock_, portid_, seq_, nlh, route_cb, &out, [&out] { out.clear(); }, "list routes"));
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
