// Fixture of the net integration tests: a private store, nftables table, default bridge and
// subnets per test process; "containers" are pinned network namespaces running busybox; at the
// end, a check that no link, rule, record, responder or namespace of the test remains.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/network.h"
#include "support/harness.h"

namespace berth::net::test {

struct Ctr {
  std::string id;
  std::string name;
  std::string netns;
};

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // "10.<80+k>.<x>.0/24", x unique per test process (k = 0..6).
  std::string subnet(int k) const;
  // A new container: a pinned network namespace.
  Ctr make_ctr(const std::string& name);
  void remove_ctr(const Ctr& c);
  // Runs argv inside the container's namespace (and, with resolv, a private mount namespace
  // where /etc/resolv.conf and /etc/hosts are the container's).
  berth::test::CmdResult in(const Ctr& c, const std::vector<std::string>& argv, int timeout_s = 20,
                            bool etc = false);
  // Starts argv in the background inside the container; killed at tear down.
  pid_t spawn(const Ctr& c, const std::vector<std::string>& argv);
  // Runs fn in a child process inside the container's namespace; killed at tear down.
  pid_t spawn_fn(const Ctr& c, const std::function<void()>& fn);
  void kill_spawned();
  // Waits until a TCP port accepts connections inside the container.
  bool wait_listening(const Ctr& c, int port, bool udp = false);

  // What this test's store left in the kernel and on disk (empty: nothing).
  std::vector<std::string> leftovers();

  std::string dir() const { return tmp_->path(); }
  std::unique_ptr<berth::test::TempDir> tmp_;
  Config cfg_;
  std::unique_ptr<Manager> mgr_;
  std::vector<Ctr> ctrs_;
  std::vector<pid_t> spawned_;
  std::vector<std::string> extra_links_;  // test-made links to delete
  std::vector<std::string> extra_netns_;  // test-made pinned namespaces
  int x_ = 0;
  std::string claim_;
};

std::string busybox();

}  // namespace berth::net::test
