#include "net_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "base/file.h"
#include "base/strings.h"
#include "net/detail.h"
#include "net/netlink.h"
#include "net/nft.h"

namespace berth::net::test {

using berth::test::CmdResult;

namespace {
constexpr const char* kClaims = "/run/berth-nettest-subnets";
}  // namespace

std::string busybox() { return "/bin/busybox"; }

void NetTest::SetUp() {
  tmp_ = std::make_unique<berth::test::TempDir>("berth-test-net");
  // Subnets unique to this process: skip any x whose 10.8k.x.0/24 meets a host route (another
  // test process's bridges).
  auto nl = Netlink::open();
  ASSERT_TRUE(nl);
  auto routes = nl->routes();
  ASSERT_TRUE(routes);
  // Concurrent test processes claim their x in a host-wide directory (a claim whose process
  // is gone is taken over), so that two of them never share subnets.
  (void)file::mkdir_all(kClaims, 0700);
  x_ = 0;
  for (int i = 0; i < 250 && x_ == 0; ++i) {
    int x = (getpid() + i) % 250 + 1;
    bool clash = false;
    for (int k = 0; k <= 6; ++k) {
      x_ = x;
      for (const auto& r : *routes) clash = clash || r.overlaps(*parse_subnet(subnet(k)));
    }
    x_ = 0;
    if (clash) continue;
    std::string claim = fmt::format("{}/{}", kClaims, x);
    int fd = ::open(claim.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      auto owner = parse_int(trim(berth::test::read_file(claim)));
      if (owner && *owner > 0 && kill(static_cast<pid_t>(*owner), 0) != 0 && errno == ESRCH)
        ::unlink(claim.c_str());  // stale; try it again next round
      continue;
    }
    std::string me = std::to_string(getpid());
    (void)!::write(fd, me.data(), me.size());
    ::close(fd);
    x_ = x;
    claim_ = claim;
  }
  ASSERT_NE(x_, 0) << "no free test subnet";
  cfg_.dir = dir() + "/networks";
  cfg_.table = fmt::format("berth_t{}", getpid());
  cfg_.default_bridge = fmt::format("berth0t{}", getpid() % 100000);
  cfg_.default_subnet = subnet(0);
  cfg_.pool = subnet(6);
  cfg_.pool_prefix = 27;
  cfg_.host_resolv_conf = dir() + "/host-resolv.conf";
  std::ofstream(cfg_.host_resolv_conf) << "nameserver 127.0.0.53\nnameserver 198.51.100.53\n";
  cfg_.dns_upstreams = {"127.0.0.1:1"};  // nothing there: no query leaves this machine
  cfg_.dns_helper = {"/proc/self/exe", "network", "dns-serve"};
  mgr_ = std::make_unique<Manager>(cfg_);
}

void NetTest::TearDown() {
  kill_spawned();
  EXPECT_TRUE(mgr_->destroy_all());
  for (const auto& c : ctrs_) (void)remove_netns(c.netns);
  for (const auto& l : extra_links_) (void)detail::delete_link(l);
  for (const auto& n : extra_netns_) (void)remove_netns(n);
  berth::test::reap_orphans();
  auto left = leftovers();
  EXPECT_TRUE(left.empty()) << fmt::format("{}", fmt::join(left, "\n"));
  tmp_.reset();
  if (!claim_.empty()) ::unlink(claim_.c_str());
}

std::string NetTest::subnet(int k) const { return fmt::format("10.{}.{}.0/24", 80 + k, x_); }

Ctr NetTest::make_ctr(const std::string& name) {
  static int n = 0;
  Ctr c;
  c.id = fmt::format("{:04x}{:04x}{}", n++, getpid() & 0xffff, std::string(24, 'c'));
  c.name = name;
  c.netns = dir() + "/netns/" + c.id;
  auto r = create_netns(c.netns);
  EXPECT_TRUE(r) << r.error().text();
  ctrs_.push_back(c);
  return c;
}

void NetTest::remove_ctr(const Ctr& c) {
  EXPECT_TRUE(remove_netns(c.netns));
  std::erase_if(ctrs_, [&](const Ctr& x) { return x.id == c.id; });
}

CmdResult NetTest::in(const Ctr& c, const std::vector<std::string>& argv, int timeout_s, bool etc) {
  std::vector<std::string> full = {"nsenter", "--net=" + c.netns};
  if (etc) {
    auto files = mgr_->etc_files(c.id);
    EXPECT_TRUE(files);
    std::string d = dir() + "/etc-" + c.id;
    (void)file::mkdir_all(d);
    std::ofstream(d + "/resolv.conf") << files->resolv_conf;
    std::ofstream(d + "/hosts") << files->hosts;
    full.insert(full.end(), {"unshare", "-m", "--propagation", "private", "sh", "-c",
                             "mount --bind \"$0/resolv.conf\" /etc/resolv.conf && "
                             "mount --bind \"$0/hosts\" /etc/hosts && exec \"$@\"",
                             d});
  }
  full.insert(full.end(), argv.begin(), argv.end());
  return berth::test::run(full, "", timeout_s);
}

pid_t NetTest::spawn(const Ctr& c, const std::vector<std::string>& argv) {
  int ns = ::open(c.netns.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(ns, 0);
  std::vector<std::string> copy = argv;
  std::vector<char*> av;
  for (auto& a : copy) av.push_back(a.data());
  av.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (setns(ns, CLONE_NEWNET) != 0) _exit(126);
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execvp(av[0], av.data());
    _exit(127);
  }
  ::close(ns);
  spawned_.push_back(pid);
  return pid;
}

pid_t NetTest::spawn_fn(const Ctr& c, const std::function<void()>& fn) {
  int ns = ::open(c.netns.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(ns, 0);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (setns(ns, CLONE_NEWNET) != 0) _exit(126);
    fn();
    _exit(0);
  }
  ::close(ns);
  spawned_.push_back(pid);
  return pid;
}

void NetTest::kill_spawned() {
  for (pid_t p : spawned_) {
    kill(-p, SIGKILL);
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
  spawned_.clear();
}

bool NetTest::wait_listening(const Ctr& c, int port, bool udp) {
  std::string want = fmt::format(":{:04X} ", port);
  for (int i = 0; i < 100; ++i) {
    // busybox servers listen on IPv6 sockets ([::]:port) when the kernel has IPv6.
    auto r = udp ? in(c, {"cat", "/proc/net/udp", "/proc/net/udp6"})
                 : in(c, {"cat", "/proc/net/tcp", "/proc/net/tcp6"});
    std::istringstream ss(r.out);
    std::string line;
    while (std::getline(ss, line)) {
      // local_address is the second column; state 0A is LISTEN (07 for a bound UDP socket).
      std::istringstream ls(line);
      std::string sl, local, remote, st;
      ls >> sl >> local >> remote >> st;
      if ((local + " ").find(want) != std::string::npos && st == (udp ? "07" : "0A")) return true;
    }
    usleep(50000);
  }
  return false;
}

std::vector<std::string> NetTest::leftovers() {
  std::vector<std::string> out;
  auto nl = Netlink::open();
  if (nl) {
    std::string tag = detail::link_tag(cfg_);
    for (const auto& l : nl->links().value_or(std::vector<LinkInfo>{})) {
      bool ours = l.alias.rfind(tag, 0) == 0 || l.name == cfg_.default_bridge;
      for (const auto& e : extra_links_) ours = ours || l.name == e;
      if (ours) out.push_back(fmt::format("link {} ({})", l.name, l.alias));
    }
  }
  auto t = nft::table_exists(cfg_.table);
  if (!t || *t) out.push_back("nftables table " + cfg_.table);
  auto eps = Store(cfg_.dir).all_endpoints();
  if (eps)
    for (const auto& e : *eps) out.push_back("endpoint record " + e.container_id);
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::string base = std::string("/proc/") + e->d_name;
      std::string cmd = berth::test::read_file(base + "/cmdline");
      std::string stat = berth::test::read_file(base + "/stat");
      size_t rp = stat.rfind(')');
      bool zombie = rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] == 'Z';
      if (!zombie && cmd.find(cfg_.dir) != std::string::npos)
        out.push_back(fmt::format("process {}: {}", e->d_name, cmd));
    }
    closedir(d);
  }
  for (const auto& l : berth::test::leaks(dir())) out.push_back(l);
  return out;
}

}  // namespace berth::net::test
