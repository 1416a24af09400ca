// The guest's network: lo up, and the virtio NIC (found by its MAC address) configured
// with the address, prefix and default route the host chose. IPv4, with the classic ioctls.
#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/strings.h"
#include "vm/agent/agent.h"

namespace berth::vm::agent {
namespace {

sockaddr_in inet(const std::string& addr) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  return sa;
}

Result<void> set_up(int sock, const std::string& name) {
  ifreq ifr{};
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return fail(sys_error(errno, "{}: flags", name));
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) return fail(sys_error(errno, "{}: up", name));
  return {};
}

std::string find_by_mac(const std::string& mac) {
  DIR* d = opendir("/sys/class/net");
  if (!d) return {};
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto a = file::read(std::string("/sys/class/net/") + e->d_name + "/address");
    if (a && strcasecmp(std::string(trim(*a)).c_str(), mac.c_str()) == 0) found = e->d_name;
  }
  closedir(d);
  return found;
}

}  // namespace

Result<void> setup_network(const proto::GuestNet& n) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail(sys_error(errno, "socket"));
  BERTH_CHECK(set_up(sock.get(), "lo"));
  if (n.address.empty()) return {};

  std::string dev;
  for (int waited = 0; (dev = find_by_mac(n.mac)).empty(); waited += 5) {
    if (waited > 20000) return fail(make_error(ErrorKind::kNotFound, "no NIC with MAC {}", n.mac));
    timespec ts{0, 5 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  ifreq ifr{};
  if (!n.ifname.empty() && dev != n.ifname) {
    strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
    strncpy(ifr.ifr_newname, n.ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCSIFNAME, &ifr) != 0)
      return fail(sys_error(errno, "rename {} to {}", dev, n.ifname));
    dev = n.ifname;
  }
  ifr = {};
  strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  sockaddr_in a = inet(n.address);
  memcpy(&ifr.ifr_addr, &a, sizeof a);
  if (::ioctl(sock.get(), SIOCSIFADDR, &ifr) != 0)
    return fail(sys_error(errno, "{}: address {}", dev, n.address));
  uint32_t mask = n.prefix == 0 ? 0 : htonl(~uint32_t(0) << (32 - std::min(n.prefix, 32u)));
  sockaddr_in m{};
  m.sin_family = AF_INET;
  m.sin_addr.s_addr = mask;
  memcpy(&ifr.ifr_netmask, &m, sizeof m);
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &ifr) != 0)
    return fail(sys_error(errno, "{}: netmask /{}", dev, n.prefix));
  BERTH_CHECK(set_up(sock.get(), dev));
  if (!n.gateway.empty()) {
    rtentry rt{};
    sockaddr_in any = inet("0.0.0.0"), gw = inet(n.gateway);
    memcpy(&rt.rt_dst, &any, sizeof any);
    memcpy(&rt.rt_genmask, &any, sizeof any);
    memcpy(&rt.rt_gateway, &gw, sizeof gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (::ioctl(sock.get(), SIOCADDRT, &rt) != 0)
      return fail(sys_error(errno, "default route via {}", n.gateway));
  }
  return {};
}

}  // namespace berth::vm::agent
