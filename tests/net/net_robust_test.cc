// Many processes at once, processes killed half way, and gc.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "net/detail.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net_fixture.h"

namespace berth::net::test {
namespace {

TEST_F(NetTest, FiftyParallelAttachesFromSeparateProcessesGetDistinctAddresses) {
  ASSERT_TRUE(mgr_->create({.name = "many", .subnet = subnet(1)}));
  constexpr int kN = 50;
  std::vector<Ctr> cs;
  for (int i = 0; i < kN; ++i) cs.push_back(make_ctr(fmt::format("m{}", i)));
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  std::vector<pid_t> kids;
  for (int i = 0; i < kN; ++i) {
    pid_t p = fork();
    if (p == 0) {
      close(pipefd[0]);
      Manager m(cfg_);
      auto a = m.attach({.container_id = cs[i].id,
                         .container_name = cs[i].name,
                         .netns_path = cs[i].netns,
                         .network = "many",
                         .ports = {*parse_port_spec("80")}});
      std::string line = a ? fmt::format("{} {} {}\n", a->ip.str(), a->ports[0].host_port, i)
                           : "error " + a.error().text() + "\n";
      (void)!write(pipefd[1], line.data(), line.size());
      _exit(a ? 0 : 1);
    }
    kids.push_back(p);
  }
  close(pipefd[1]);
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  for (pid_t p : kids) {
    int st = 0;
    waitpid(p, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  std::set<std::string> ips, ports;
  std::istringstream ss(all);
  std::string ip, port, idx;
  while (ss >> ip >> port >> idx) {
    EXPECT_NE(ip, "error") << all;
    ips.insert(ip);
    ports.insert(port);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kN)) << all;
  EXPECT_EQ(ports.size(), static_cast<size_t>(kN)) << all;
  auto info = mgr_->inspect("many");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->endpoints.size(), static_cast<size_t>(kN));
  for (const auto& e : info->endpoints) EXPECT_EQ(e.state, "active");
  // Every one is really up: its address answers from another container.
  auto probe =
      in(cs[0], {busybox(), "ping", "-c", "1", "-W", "3", info->endpoints.back().ip.str()});
  EXPECT_EQ(probe.exit_code, 0) << probe.out;
  for (const auto& c : cs) ASSERT_TRUE(mgr_->detach_all(c.id));
}

TEST_F(NetTest, KilledMidSetupLeavesNothingAfterGc) {
  ASSERT_TRUE(mgr_->create({.name = "crashy", .subnet = subnet(1)}));
  std::vector<Ctr> cs;
  for (int round = 0; round < 8; ++round) {
    Ctr c = make_ctr(fmt::format("k{}", round));
    cs.push_back(c);
    pid_t p = fork();
    if (p == 0) {
      Manager m(cfg_);
      auto a = m.attach({.container_id = c.id,
                         .container_name = c.name,
                         .netns_path = c.netns,
                         .network = round % 2 ? "crashy" : "",
                         .ports = {*parse_port_spec("80")}});
      _exit(a ? 0 : 1);
    }
    usleep(static_cast<useconds_t>(round * 4000));  // 0..28 ms: every stage of attach
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
  // A surviving container with its namespace pinned: gc keeps it while it is live.
  Ctr keep = make_ctr("keeper");
  ASSERT_TRUE(mgr_->attach({.container_id = keep.id, .netns_path = keep.netns}));
  auto rep = mgr_->gc([&](const std::string& id) { return id == keep.id; });
  ASSERT_TRUE(rep) << rep.error().text();
  auto info = mgr_->inspect("crashy");
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->endpoints.empty());
  auto def = mgr_->inspect("bridge");
  ASSERT_EQ(def->endpoints.size(), 1u);
  EXPECT_EQ(def->endpoints[0].container_id, keep.id);
  auto nl = Netlink::open();
  for (const auto& c : cs)
    for (const auto& net : {info->net.id, def->net.id})
      EXPECT_FALSE(nl->link(detail::veth_name(cfg_, net, c.id)).has_value()) << c.name;
  // Then the keeper dies: gc without the engine's view still sees its veth, so it stays; with
  // the view, it goes; the idle bridge and its rules stay until prune.
  ASSERT_TRUE(mgr_->gc());
  EXPECT_EQ(mgr_->inspect("bridge")->endpoints.size(), 1u);
  ASSERT_TRUE(mgr_->gc([](const std::string&) { return false; }));
  EXPECT_TRUE(mgr_->inspect("bridge")->endpoints.empty());
  ASSERT_TRUE(mgr_->prune());
  EXPECT_FALSE(*nft::table_exists(cfg_.table));
  EXPECT_FALSE(nl->link(cfg_.default_bridge).has_value());
}

TEST_F(NetTest, GcRemovesEndpointsWhoseNamespaceDiedAndUntrackedLinks) {
  Ctr c = make_ctr("ephemeral");
  auto a = mgr_->attach({.container_id = c.id, .netns_path = c.netns});
  ASSERT_TRUE(a);
  // The container's namespace goes away (its last process exited): the kernel removes the
  // veth pair; the lease and rules are gc's to remove.
  remove_ctr(c);
  for (int i = 0; i < 50; ++i) {
    auto nl = Netlink::open();
    if (!nl->link(a->host_veth).has_value()) break;
    usleep(20000);
  }
  // A tagged link nobody records (a record lost with a disk): removed too.
  auto nl = Netlink::open();
  ASSERT_TRUE(nl->create_bridge("berthgc" + std::to_string(getpid() % 10000),
                                detail::link_tag(cfg_) + "bridge deadbeef"));
  // A record cut short (not fsynced, then a power loss).
  std::string cut = cfg_.dir + "/endpoints/" + a->network_id + "/torn.json";
  std::ofstream(cut) << "{\"containerId\": \"tor";
  auto rep = mgr_->gc();
  ASSERT_TRUE(rep) << rep.error().text();
  EXPECT_GE(rep->removed.size(), 3u);
  EXPECT_FALSE(berth::test::file_exists(cut));
  EXPECT_TRUE(mgr_->inspect("bridge")->endpoints.empty());
  EXPECT_FALSE(nl->link("berthgc" + std::to_string(getpid() % 10000)).has_value());
  // Pinned namespaces of dead containers.
  Ctr d = make_ctr("pinned");
  auto removed = gc_netns(dir() + "/netns", [](const std::string&) { return false; });
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_TRUE(berth::test::leaks(d.netns).empty());
}

// A link dump that links come and go under (many containers starting at once) is marked
// interrupted by the kernel (NLM_F_DUMP_INTR): it is asked for again, never an error. In a
// namespace of its own: 300 bridges make the dump span several reads while a second process
// adds and deletes another one as fast as it can.
TEST(NetlinkDump, InterruptedDumpsAreRetried) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(10);
    auto nl = Netlink::open();
    if (!nl) _exit(11);
    for (int i = 0; i < 300; ++i)
      if (!nl->create_bridge(fmt::format("bd{}", i), "")) _exit(12);
    pid_t churn = fork();
    if (churn == 0) {
      auto c = Netlink::open();
      while (c) {
        (void)c->create_bridge("churn0", "");
        if (auto l = c->link("churn0")) (void)c->delete_link(l->index);
      }
      _exit(0);
    }
    int failed = 0;
    for (int i = 0; i < 200 && failed == 0; ++i) {
      auto links = nl->links();
      if (!links) {
        fprintf(stderr, "%s\n", links.error().text().c_str());
        failed = 1;
      } else if (links->size() < 301) {
        failed = 2;
      }
    }
    kill(churn, SIGKILL);
    waitpid(churn, nullptr, 0);
    _exit(failed);
  }
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: a dump failed, 2: a dump came back short";
}

}  // namespace
}  // namespace berth::net::test
