// A VM on a berth network: the guest takes the container's place.
//
// The network is attached as for any container (a veth end, eth0, in the container's network
// namespace, with its address and default route). For a VM, QEMU runs in that namespace and
// the guest kernel needs a link of its own, so inside the namespace:
//
//   eth0 (veth end) --+-- vmbr0 (bridge) --+-- vmtap0 (tap, opened by QEMU) ~~ guest eth0
//
// eth0 gives up its address (the guest owns it now) and becomes a bridge port with the tap.
// The guest gets the address, prefix and gateway, and a MAC of its own: eth0's MAC is a
// local address of vmbr0, and the bridge drops frames that arrive with a local source MAC.
// Everything lives in the namespace, so removing the namespace removes all of it.
#pragma once

#include <string>

#include "base/result.h"
#include "net/ip.h"
#include "net/network.h"

namespace berth::net {

inline constexpr const char* kVmBridge = "vmbr0";
inline constexpr const char* kVmTap = "vmtap0";

struct VmLink {
  std::string tap;  // the tap's name in the namespace
  Ipv4 ip;
  int prefix = 0;
  Ipv4 gateway;  // 0 on internal networks
};

// Re-plumbs the namespace at netns_path for attachment `a` as described above.
Result<VmLink> plumb_vm_link(const std::string& netns_path, const Attachment& a);

}  // namespace berth::net
