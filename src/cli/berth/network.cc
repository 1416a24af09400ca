// berth network create|ls|inspect|rm|prune|connect|disconnect (and the hidden dns-serve, the
// entry point of the embedded DNS responder processes, gc, and nft-helper: libnftables for
// the static berth, which runs it in berth-dynamic; see base/dynlib.h).
#include "net/network.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/berth/app.h"
#include "net/dns_server.h"
#include "net/nft.h"

namespace berth::cli {
namespace {

using nlohmann::json;

net::Config net_config(const BerthGlobals& g) { return net::Config::for_root(g.root); }

json network_json(const net::NetworkInfo& i) {
  json eps = json::object();
  for (const auto& e : i.endpoints) {
    json ports = json::array();
    for (const auto& p : e.ports) ports.push_back(p.str());
    eps[e.container_id] = {{"Name", e.container_name},
                           {"Interface", e.ifname},
                           {"IPv4Address", fmt::format("{}/{}", e.ip.str(), i.net.subnet.prefix)},
                           {"MacAddress", e.mac},
                           {"Ports", ports},
                           {"State", e.state}};
  }
  return {{"Id", i.net.id},
          {"Name", i.net.name},
          {"Driver", "bridge"},
          {"Created", i.net.created},
          {"Internal", i.net.internal},
          {"DNSEnabled", i.net.dns},
          {"Default", i.net.is_default},
          {"Bridge", i.net.bridge},
          {"Subnets",
           json::array({{{"Subnet", i.net.subnet.str()}, {"Gateway", i.net.gateway.str()}}})},
          {"Containers", eps}};
}

// A container known to the network store: by full id, id prefix or name.
Result<net::EndpointRecord> find_container(net::Manager& m, const std::string& who) {
  auto eps = BERTH_TRY(m.store().all_endpoints());
  for (const auto& e : eps)
    if (e.container_id == who || e.container_name == who) return e;
  for (const auto& e : eps)
    if (who.size() >= 3 && e.container_id.rfind(who, 0) == 0) return e;
  return fail(make_error(ErrorKind::kNotFound,
                         "container {:?} has no network namespace known to berth", who));
}

void add_create(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("create", "create a bridge network");
  auto o = std::make_shared<net::CreateOptions>();
  sub->add_option("name", o->name, "the network's name")->required();
  sub->add_option("--subnet", o->subnet, "subnet in CIDR form (default: a free /24)");
  sub->add_option("--gateway", o->gateway, "gateway address (default: the first of the subnet)");
  sub->add_flag("--internal", o->internal, "no outbound access and no published ports from it");
  on_berth_run(sub, [&g, o]() -> Result<int> {
    net::Manager m(net_config(g));
    auto n = BERTH_TRY(m.create(*o));
    fmt::print("{}\n", n.id);
    return 0;
  });
}

void add_ls(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("ls", "list networks");
  sub->alias("list");
  auto quiet = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("table");
  sub->add_flag("-q,--quiet", *quiet, "print only the ids");
  sub->add_option("--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  on_berth_run(sub, [&g, quiet, format]() -> Result<int> {
    net::Manager m(net_config(g));
    auto list = BERTH_TRY(m.list());
    if (*quiet) {
      for (const auto& i : list) fmt::print("{}\n", i.net.id.substr(0, 12));
    } else if (*format == "json") {
      json arr = json::array();
      for (const auto& i : list) arr.push_back(network_json(i));
      fmt::print("{}\n", arr.dump(2));
    } else {
      fmt::print("{:<14}{:<20}{:<9}{:<18}{:<16}{:<10}{}\n", "NETWORK ID", "NAME", "DRIVER",
                 "SUBNET", "GATEWAY", "INTERNAL", "CONTAINERS");
      for (const auto& i : list)
        fmt::print("{:<14}{:<20}{:<9}{:<18}{:<16}{:<10}{}\n", i.net.id.substr(0, 12), i.net.name,
                   "bridge", i.net.subnet.str(), i.net.gateway.str(), i.net.internal ? "yes" : "no",
                   i.endpoints.size());
    }
    return 0;
  });
}

void add_inspect(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("inspect", "print networks as JSON");
  auto names = std::make_shared<std::vector<std::string>>();
  sub->add_option("network", *names, "names or ids")->required();
  on_berth_run(sub, [&g, names]() -> Result<int> {
    net::Manager m(net_config(g));
    json arr = json::array();
    for (const auto& n : *names) arr.push_back(network_json(BERTH_TRY(m.inspect(n))));
    fmt::print("{}\n", arr.dump(2));
    return 0;
  });
}

void add_rm(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("rm", "remove networks (refused while containers use them)");
  sub->alias("remove");
  auto names = std::make_shared<std::vector<std::string>>();
  sub->add_option("network", *names, "names or ids")->required();
  on_berth_run(sub, [&g, names]() -> Result<int> {
    net::Manager m(net_config(g));
    for (const auto& n : *names) {
      BERTH_CHECK(m.remove(n));
      fmt::print("{}\n", n);
    }
    return 0;
  });
}

void add_prune(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("prune", "remove every network no container uses");
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-f,--force", *force, "do not ask (berth never asks)");
  on_berth_run(sub, [&g]() -> Result<int> {
    net::Manager m(net_config(g));
    for (const auto& n : BERTH_TRY(m.prune())) fmt::print("{}\n", n);
    return 0;
  });
}

void add_connect(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("connect", "connect a running container to a network");
  auto network = std::make_shared<std::string>();
  auto container = std::make_shared<std::string>();
  auto req = std::make_shared<net::AttachRequest>();
  sub->add_option("network", *network, "the network")->required();
  sub->add_option("container", *container, "the container (id or name)")->required();
  sub->add_option("--alias", req->aliases, "another name for the container on this network");
  sub->add_option("--ip", req->ip, "the address to give it");
  sub->add_option("--netns", req->netns_path, "the container's network namespace")
      ->group("");  // for containers berth's network store does not know yet
  on_berth_run(sub, [&g, network, container, req]() -> Result<int> {
    net::Manager m(net_config(g));
    net::AttachRequest r = *req;
    r.network = *network;
    if (r.netns_path.empty()) {
      auto e = BERTH_TRY(find_container(m, *container));
      r.container_id = e.container_id;
      r.container_name = e.container_name;
      r.hostname = e.hostname;
      r.netns_path = e.netns;
    } else {
      r.container_id = *container;
    }
    auto a = BERTH_TRY(m.attach(r));
    fmt::print("{} {}/{} on {}\n", a.ifname, a.ip.str(), a.prefix, a.network_name);
    return 0;
  });
}

void add_disconnect(CLI::App* net, BerthGlobals& g) {
  auto* sub = net->add_subcommand("disconnect", "disconnect a container from a network");
  auto network = std::make_shared<std::string>();
  auto container = std::make_shared<std::string>();
  sub->add_option("network", *network, "the network")->required();
  sub->add_option("container", *container, "the container (id or name)")->required();
  on_berth_run(sub, [&g, network, container]() -> Result<int> {
    net::Manager m(net_config(g));
    auto e = BERTH_TRY(find_container(m, *container));
    BERTH_CHECK(m.detach(e.container_id, *network));
    return 0;
  });
}

void add_hidden(CLI::App* net, BerthGlobals& g) {
  auto* dns = net->add_subcommand("dns-serve", "");  // the DNS responder process
  dns->group("");
  auto args = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  for (const char* flag :
       {"--store", "--network", "--bridge", "--listen", "--port", "--ready-fd"}) {
    auto value = std::make_shared<std::string>();
    args->push_back({flag, ""});
    size_t i = args->size() - 1;
    dns->add_option(flag, *value)->each([args, i](const std::string& v) { (*args)[i].second = v; });
  }
  on_berth_run(dns, [args]() -> Result<int> {
    std::vector<std::string> words;
    for (const auto& [k, v] : *args)
      if (!v.empty()) words.insert(words.end(), {k, v});
    return net::dns_server_main(words);
  });
  auto* gc = net->add_subcommand("gc", "");
  gc->group("");
  on_berth_run(gc, [&g]() -> Result<int> {
    net::Manager m(net_config(g));
    for (const auto& r : BERTH_TRY(m.gc()).removed) fmt::print("removed {}\n", r);
    return 0;
  });
  // nft-helper run: the nftables script on stdin, applied as one transaction.
  // nft-helper list COMMAND: its JSON on stdout.
  auto* nft = net->add_subcommand("nft-helper", "");
  nft->group("");
  nft->require_subcommand(1);
  auto* nft_run = nft->add_subcommand("run", "");
  on_berth_run(nft_run, []() -> Result<int> {
    std::string script;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0) script.append(buf, static_cast<size_t>(n));
    if (n < 0) return fail(sys_error(errno, "read the nftables script"));
    BERTH_CHECK(net::nft::run(script));
    return 0;
  });
  auto* nft_list = nft->add_subcommand("list", "");
  auto what = std::make_shared<std::string>();
  nft_list->add_option("command", *what)->required();
  on_berth_run(nft_list, [what]() -> Result<int> {
    fmt::print("{}", BERTH_TRY(net::nft::list_json(*what)));
    return 0;
  });
}

void add(CLI::App& app, BerthGlobals& g) {
  auto* net = app.add_subcommand("network", "manage networks");
  net->require_subcommand(1);
  add_create(net, g);
  add_ls(net, g);
  add_inspect(net, g);
  add_rm(net, g);
  add_prune(net, g);
  add_connect(net, g);
  add_disconnect(net, g);
  add_hidden(net, g);
}

const BerthVerbs kVerbs("network", {"network"}, add);

}  // namespace
}  // namespace berth::cli
