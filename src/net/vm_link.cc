#include "net/vm_link.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <thread>

#include "base/unique_fd.h"
#include "net/netlink.h"

namespace berth::net {

namespace {

// A persistent tap made inside the namespace (a tun device belongs to the namespace of the
// thread that creates it); QEMU attaches to it by name later.
Result<void> create_tap(int netns_fd, const std::string& name) {
  Result<void> out = fail(make_error(ErrorKind::kInternal, "tap helper thread"));
  std::thread t([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = fail(sys_error(errno, "join network namespace"));
      return;
    }
    UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tun) {
      out = fail(sys_error(errno, "open /dev/net/tun"));
      return;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    memcpy(ifr.ifr_name, name.c_str(), std::min(name.size(), sizeof ifr.ifr_name - 1));
    if (::ioctl(tun.get(), TUNSETIFF, &ifr) != 0) {
      out = fail(sys_error(errno, "create tap {}", name));
      return;
    }
    if (::ioctl(tun.get(), TUNSETPERSIST, 1) != 0) {
      out = fail(sys_error(errno, "make tap {} persistent", name));
      return;
    }
    out = {};
  });
  t.join();
  return out;
}

}  // namespace

Result<VmLink> plumb_vm_link(const std::string& netns_path, const Attachment& a) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail(sys_error(errno, "open network namespace {}", netns_path));
  Netlink nl = BERTH_TRY(Netlink::open_in(ns.get()));
  LinkInfo veth = BERTH_TRY(nl.link(a.ifname));
  BERTH_CHECK(create_tap(ns.get(), kVmTap));
  if (auto r = nl.create_bridge(kVmBridge, "berth-vm");
      !r && r.error().kind() != ErrorKind::kAlreadyExists)
    return fail(std::move(r.error()));
  LinkInfo br = BERTH_TRY(nl.link(kVmBridge));
  LinkInfo tap = BERTH_TRY(nl.link(kVmTap));
  // Removing the address also removes the default route through it.
  if (auto r = nl.delete_address(veth.index, a.ip, a.prefix);
      !r && r.error().kind() != ErrorKind::kNotFound)
    return fail(std::move(r.error()));
  BERTH_CHECK(nl.set_master(veth.index, br.index));
  BERTH_CHECK(nl.set_master(tap.index, br.index));
  BERTH_CHECK(nl.set_up(tap.index));
  BERTH_CHECK(nl.set_up(br.index));
  return VmLink{kVmTap, a.ip, a.prefix, a.gateway};
}

}  // namespace berth::net
