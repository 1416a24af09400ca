#include "net/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "oci/json_read.h"

namespace berth::net {

using nlohmann::json;

std::string_view endpoint_state_name(EndpointState s) {
  switch (s) {
    case EndpointState::kPreparing:
      return "preparing";
    case EndpointState::kActive:
      return "active";
    case EndpointState::kRemoving:
      return "removing";
  }
  return "unknown";
}

std::string network_to_json(const NetworkRecord& n) {
  json j = {{"id", n.id},
            {"name", n.name},
            {"driver", "bridge"},
            {"bridge", n.bridge},
            {"subnet", n.subnet.str()},
            {"gateway", n.gateway.str()},
            {"internal", n.internal},
            {"dns", n.dns},
            {"default", n.is_default},
            {"created", n.created}};
  return j.dump(2) + "\n";
}

namespace {

template <typename T>
T must(Result<T> r, const std::string& where) {
  if (!r) oci::jr::bad(where, r.error().message());
  return std::move(*r);
}

}  // namespace

Result<NetworkRecord> network_from_json(std::string_view text) {
  return oci::jr::parse_with(text, "network record", [](const oci::jr::Obj& o) {
    NetworkRecord n;
    n.id = o.string("id", true);
    n.name = o.string("name", true);
    n.bridge = o.string("bridge", true);
    n.subnet = must(parse_subnet(o.string("subnet", true)), o.where("subnet"));
    n.gateway = must(parse_ipv4(o.string("gateway", true)), o.where("gateway"));
    n.internal = o.boolean("internal");
    n.dns = o.boolean("dns");
    n.is_default = o.boolean("default");
    n.created = o.string("created");
    return n;
  });
}

std::string endpoint_to_json(const EndpointRecord& e) {
  json ports = json::array();
  for (const auto& p : e.ports)
    ports.push_back({{"hostIp", p.host_ip},
                     {"hostPort", p.host_port},
                     {"containerPort", p.container_port},
                     {"protocol", proto_name(p.proto)}});
  json j = {{"containerId", e.container_id},
            {"containerName", e.container_name},
            {"hostname", e.hostname},
            {"aliases", e.aliases},
            {"networkId", e.network_id},
            {"ifname", e.ifname},
            {"hostVeth", e.host_veth},
            {"ip", e.ip.str()},
            {"mac", e.mac},
            {"ports", ports},
            {"netns", e.netns},
            {"state", endpoint_state_name(e.state)},
            {"ownerPid", e.owner_pid},
            {"ownerStart", e.owner_start},
            {"created", e.created}};
  return j.dump(2) + "\n";
}

Result<EndpointRecord> endpoint_from_json(std::string_view text) {
  return oci::jr::parse_with(text, "endpoint record", [](const oci::jr::Obj& o) {
    EndpointRecord e;
    e.container_id = o.string("containerId", true);
    e.container_name = o.string("containerName");
    e.hostname = o.string("hostname");
    e.aliases = o.strings("aliases");
    e.network_id = o.string("networkId", true);
    e.ifname = o.string("ifname", true);
    e.host_veth = o.string("hostVeth", true);
    e.ip = must(parse_ipv4(o.string("ip", true)), o.where("ip"));
    e.mac = o.string("mac");
    for (const auto& p : o.array("ports")) {
      PortMapping m;
      m.host_ip = p.string("hostIp");
      m.host_port = static_cast<uint16_t>(p.u64_max("hostPort", 65535));
      m.container_port = static_cast<uint16_t>(p.u64_max("containerPort", 65535));
      m.proto = must(parse_proto(p.string("protocol", true)), p.where("protocol"));
      e.ports.push_back(m);
    }
    e.netns = o.string("netns");
    std::string st = o.string("state", true);
    if (st == "preparing")
      e.state = EndpointState::kPreparing;
    else if (st == "active")
      e.state = EndpointState::kActive;
    else if (st == "removing")
      e.state = EndpointState::kRemoving;
    else
      oci::jr::bad(o.where("state"), "unknown state");
    e.owner_pid = static_cast<pid_t>(o.i64("ownerPid"));
    e.owner_start = o.u64("ownerStart");
    e.created = o.string("created");
    return e;
  });
}

namespace {

// Names of regular *.json files in dir (none when dir is absent).
std::vector<std::string> json_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n[0] != '.' && n.ends_with(".json")) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_type == DT_DIR && e->d_name[0] != '.') out.push_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<StoreLock> Store::lock() const {
  BERTH_CHECK(file::mkdir_all(dir_ + "/nets", 0700));
  BERTH_CHECK(file::mkdir_all(dir_ + "/endpoints", 0700));
  BERTH_CHECK(file::mkdir_all(dir_ + "/dns", 0755));
  UniqueFd fd(::open((dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail(sys_error(errno, "open {}/lock", dir_));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(sys_error(errno, "lock {}/lock", dir_));
  }
  return StoreLock(std::move(fd));
}

Result<std::vector<NetworkRecord>> Store::networks() const {
  std::vector<NetworkRecord> out;
  for (const auto& f : json_files(dir_ + "/nets")) {
    auto text = file::read(dir_ + "/nets/" + f);
    if (!text) {
      if (text.error().kind() == ErrorKind::kNotFound) continue;  // removed meanwhile
      return fail(std::move(text.error()));
    }
    auto n = network_from_json(*text);
    if (!n) {
      log::warn("ignoring {}/nets/{}: {}", dir_, f, n.error().text());
      continue;
    }
    out.push_back(std::move(*n));
  }
  return out;
}

Result<void> Store::put_network(const NetworkRecord& n) const {
  return file::write_atomic(dir_ + "/nets/" + n.id + ".json", network_to_json(n), 0644);
}

Ipv4 Store::last_ip(const std::string& network_id) const {
  auto text = file::read(dir_ + "/nets/" + network_id + ".last");
  if (!text) return Ipv4{};
  auto ip = parse_ipv4(trim(*text));
  return ip ? *ip : Ipv4{};
}

Result<void> Store::set_last_ip(const std::string& network_id, Ipv4 ip) const {
  return file::write_atomic(dir_ + "/nets/" + network_id + ".last", ip.str() + "\n", 0644);
}

Result<void> Store::remove_network(const std::string& id) const {
  ::unlink((dir_ + "/nets/" + id + ".last").c_str());
  if (::unlink((dir_ + "/nets/" + id + ".json").c_str()) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "remove network record {}", id));
  ::rmdir((dir_ + "/endpoints/" + id).c_str());
  return {};
}

Result<std::vector<EndpointRecord>> Store::endpoints(const std::string& network_id) const {
  std::vector<EndpointRecord> out;
  std::string d = dir_ + "/endpoints/" + network_id;
  for (const auto& f : json_files(d)) {
    auto text = file::read(d + "/" + f);
    if (!text) {
      if (text.error().kind() == ErrorKind::kNotFound) continue;
      return fail(std::move(text.error()));
    }
    auto e = endpoint_from_json(*text);
    if (!e) {
      log::warn("ignoring {}/{}: {}", d, f, e.error().text());
      continue;
    }
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<EndpointRecord>> Store::all_endpoints() const {
  std::vector<EndpointRecord> out;
  for (const auto& net : subdirs(dir_ + "/endpoints")) {
    auto eps = BERTH_TRY(endpoints(net));
    for (auto& e : eps) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> Store::unreadable_endpoints() const {
  std::vector<std::string> out;
  for (const auto& net : subdirs(dir_ + "/endpoints")) {
    std::string d = dir_ + "/endpoints/" + net;
    for (const auto& f : json_files(d)) {
      auto text = file::read(d + "/" + f);
      if (text && !endpoint_from_json(*text)) out.push_back(d + "/" + f);
    }
  }
  return out;
}

Result<void> Store::put_endpoint(const EndpointRecord& e) const {
  std::string d = dir_ + "/endpoints/" + e.network_id;
  BERTH_CHECK(file::mkdir_all(d, 0700));
  // Not fsynced: endpoints do not outlive a reboot (their namespaces and links do not either).
  return file::write_atomic(d + "/" + e.container_id + ".json", endpoint_to_json(e), 0644, false);
}

Result<void> Store::remove_endpoint(const std::string& network_id,
                                    const std::string& container_id) const {
  std::string p = dir_ + "/endpoints/" + network_id + "/" + container_id + ".json";
  if (::unlink(p.c_str()) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "remove endpoint record {}", p));
  return {};
}

}  // namespace berth::net
