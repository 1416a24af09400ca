#include "net/dns_records.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/strings.h"

namespace berth::net {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The networks the client's container is on (just network_id for an unknown client).
std::set<std::string> visible_networks(const std::vector<DnsRecord>& records,
                                       std::string_view network_id, Ipv4 client) {
  std::set<std::string> nets = {std::string(network_id)};
  std::string cid;
  for (const auto& r : records)
    if (r.network_id == network_id && r.ip == client) cid = r.container_id;
  if (cid.empty()) return nets;
  for (const auto& r : records)
    if (r.container_id == cid) nets.insert(r.network_id);
  return nets;
}

}  // namespace

std::string format_dns_records(const std::vector<DnsRecord>& records) {
  std::string s;
  for (const auto& r : records) {
    s += r.network_id + " " + r.ip.str() + " " + r.container_id;
    for (const auto& n : r.names) s += " " + lower(n);
    s += "\n";
  }
  return s;
}

std::vector<DnsRecord> parse_dns_records(std::string_view text) {
  std::vector<DnsRecord> out;
  for (const auto& line : split(text, '\n')) {
    std::vector<std::string> w;
    for (const auto& x : split(line, ' '))
      if (!x.empty()) w.push_back(x);
    if (w.size() < 3) continue;
    auto ip = parse_ipv4(w[1]);
    if (!ip) continue;
    DnsRecord r{w[0], *ip, w[2], {}};
    for (size_t i = 3; i < w.size(); ++i) r.names.push_back(lower(w[i]));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Ipv4> dns_lookup(const std::vector<DnsRecord>& records, std::string_view network_id,
                             Ipv4 client, std::string_view name) {
  std::string n = lower(name);
  while (!n.empty() && n.back() == '.') n.pop_back();
  auto nets = visible_networks(records, network_id, client);
  std::vector<Ipv4> here, elsewhere;
  for (const auto& r : records) {
    if (!nets.contains(r.network_id)) continue;
    if (std::find(r.names.begin(), r.names.end(), n) == r.names.end()) continue;
    auto& into = r.network_id == network_id ? here : elsewhere;
    if (std::find(into.begin(), into.end(), r.ip) == into.end()) into.push_back(r.ip);
  }
  return here.empty() ? elsewhere : here;
}

std::vector<std::string> dns_reverse(const std::vector<DnsRecord>& records,
                                     std::string_view network_id, Ipv4 client, Ipv4 target) {
  auto nets = visible_networks(records, network_id, client);
  std::vector<std::string> out;
  for (const auto& r : records)
    if (nets.contains(r.network_id) && r.ip == target && !r.names.empty())
      out.push_back(r.names.front());
  return out;
}

}  // namespace berth::net
