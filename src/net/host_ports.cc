// Is a host port free to publish? Three views: berth's own records (every endpoint of the
// store, being set up or not), other tables' DNAT rules (podman, Docker's iptables-nft), and a
// bind test (a host process listening there).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "base/unique_fd.h"
#include "net/detail.h"
#include "net/ip.h"
#include "net/nft.h"
#include "runtime/proc_info.h"

namespace berth::net::detail {

namespace {

bool bind_free(const std::string& host_ip, uint16_t port, Proto proto) {
  UniqueFd fd(
      ::socket(AF_INET, (proto == Proto::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!fd) return true;  // cannot tell; the other views still apply
  int one = 1;
  if (proto == Proto::kTcp) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = INADDR_ANY;
  if (!host_ip.empty()) {
    auto ip = parse_ipv4(host_ip);
    if (ip) sa.sin_addr.s_addr = htonl(ip->v);
    setsockopt(fd.get(), SOL_IP, IP_FREEBIND, &one, sizeof one);
  }
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 || errno != EADDRINUSE;
}

void add_ports(const nlohmann::json& right, Proto proto,
               std::vector<std::pair<Proto, uint16_t>>& out) {
  auto add_range = [&](int64_t lo, int64_t hi) {
    if (hi - lo > 65535) return;
    for (int64_t p = lo; p <= hi && p <= 65535; ++p)
      if (p > 0) out.push_back({proto, static_cast<uint16_t>(p)});
  };
  if (right.is_number_integer()) {
    add_range(right.get<int64_t>(), right.get<int64_t>());
  } else if (right.is_object() && right.contains("range") && right["range"].is_array() &&
             right["range"].size() == 2 && right["range"][0].is_number_integer() &&
             right["range"][1].is_number_integer()) {
    add_range(right["range"][0].get<int64_t>(), right["range"][1].get<int64_t>());
  } else if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    for (const auto& e : right["set"]) add_ports(e, proto, out);
  }
}

}  // namespace

std::vector<std::pair<Proto, uint16_t>> foreign_dnat_ports(std::string_view ruleset_json,
                                                           const std::string& skip_table) {
  std::vector<std::pair<Proto, uint16_t>> out;
  auto j = nlohmann::json::parse(ruleset_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nftables") || !j["nftables"].is_array())
    return out;
  for (const auto& item : j["nftables"]) {
    if (!item.is_object() || !item.contains("rule")) continue;
    const auto& rule = item["rule"];
    if (!rule.is_object() || rule.value("table", "") == skip_table || !rule.contains("expr") ||
        !rule["expr"].is_array())
      continue;
    bool nat = false;
    std::vector<std::pair<Proto, uint16_t>> ports;
    for (const auto& e : rule["expr"]) {
      if (!e.is_object()) continue;
      if (e.contains("dnat") || e.contains("redirect")) nat = true;
      if (e.contains("xt") && e["xt"].is_object()) {
        std::string name = e["xt"].value("name", "");
        if (name == "DNAT" || name == "REDIRECT") nat = true;
      }
      if (!e.contains("match") || !e["match"].is_object()) continue;
      const auto& m = e["match"];
      if (!m.contains("left") || !m["left"].is_object() || !m["left"].contains("payload") ||
          !m.contains("right"))
        continue;
      const auto& pl = m["left"]["payload"];
      if (!pl.is_object() || pl.value("field", "") != "dport") continue;
      std::string proto = pl.value("protocol", "");
      if (proto != "tcp" && proto != "udp") continue;
      if (m.value("op", "==") != "==" && m.value("op", "==") != "in") continue;
      add_ports(m["right"], proto == "tcp" ? Proto::kTcp : Proto::kUdp, ports);
    }
    if (nat) out.insert(out.end(), ports.begin(), ports.end());
  }
  return out;
}

Result<PortFree> port_checker(const Config& c, const std::vector<EndpointRecord>& all) {
  struct Used {
    std::string ip;
    uint16_t port;
    Proto proto;
  };
  auto used = std::make_shared<std::vector<Used>>();
  for (const auto& e : all)
    for (const auto& p : e.ports) used->push_back({p.host_ip, p.host_port, p.proto});
  auto foreign = std::make_shared<std::set<std::pair<Proto, uint16_t>>>();
  auto text = nft::list_json("list ruleset");
  if (text) {
    for (const auto& fp : foreign_dnat_ports(*text, c.table)) foreign->insert(fp);
  }
  return PortFree([used, foreign](const std::string& ip, uint16_t port, Proto proto) {
    for (const auto& u : *used)
      if (u.port == port && u.proto == proto && (u.ip.empty() || ip.empty() || u.ip == ip))
        return false;
    if (foreign->contains({proto, port})) return false;
    return bind_free(ip, port, proto);
  });
}

bool owner_alive(pid_t pid, uint64_t start) {
  return pid > 0 && runtime::process_alive(pid, start);
}

uint64_t self_start_time() {
  auto st = runtime::read_proc_stat(getpid());
  return st ? st->start_time : 0;
}

}  // namespace berth::net::detail
