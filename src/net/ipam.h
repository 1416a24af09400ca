// Address management as pure functions; the caller holds the store lock and passes what is
// taken, so two processes never hand out the same address.
#pragma once

#include <set>
#include <vector>

#include "base/result.h"
#include "net/ip.h"

namespace berth::net {

// The first host address after `after` (wrapping round to the lowest) that is not the
// network or broadcast address, the gateway, or in used. kUnavailable when the subnet is
// full. Handing addresses out in turn, as Docker does, keeps a just-freed address (and its
// MAC, 02:42 + the address) unused while the kernel is still deleting its old veth.
Result<Ipv4> allocate_ip(const Subnet& subnet, Ipv4 gateway, const std::set<Ipv4>& used,
                         Ipv4 after = {});
// A requested address: inside the subnet, not reserved, not used.
Result<Ipv4> claim_ip(const Subnet& subnet, Ipv4 gateway, const std::set<Ipv4>& used, Ipv4 want);
// The first subnet of the given prefix length inside pool that overlaps none of taken.
Result<Subnet> pick_subnet(const Subnet& pool, int prefix, const std::vector<Subnet>& taken);
// Checks a user-given subnet and gateway (gateway 0: the first host address).
Result<Ipv4> gateway_for(const Subnet& subnet, Ipv4 gateway);

}  // namespace berth::net
