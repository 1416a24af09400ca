// The contents of a container's /etc/hosts, /etc/resolv.conf and /etc/hostname. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/ip.h"

namespace berth::net {

struct ResolvConf {
  std::vector<std::string> nameservers;  // addresses as written (IPv4 or IPv6)
  std::vector<std::string> search;
  std::vector<std::string> options;
};

ResolvConf parse_resolv_conf(std::string_view text);
std::string format_resolv_conf(const ResolvConf& rc);

// What a container on these networks gets. Nameservers: the embedded responder of the first
// network that has one; else the host's, without loopback addresses (unreachable from a
// container). Search domains and options are the host's.
ResolvConf container_resolv_conf(const ResolvConf& host, const std::vector<Ipv4>& dns_servers);

struct HostEntry {
  Ipv4 ip;
  std::vector<std::string> names;
};
// localhost lines, then one line per own address ("10.87.0.2 hostname name").
std::string hosts_file(const std::vector<HostEntry>& entries);
std::string hostname_file(std::string_view hostname);

}  // namespace berth::net
