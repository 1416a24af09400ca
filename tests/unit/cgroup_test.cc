// cgroup: layout detection, path resolution, conversions, and one shared suite run against
// the v1, v2 and hybrid backends over fake hierarchies in a temp dir (files are plain files
// there, so the test sees exactly what each backend writes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "base/file.h"
#include "cgroup/backends.h"
#include "cgroup/device_filter.h"
#include "cgroup/manager.h"
#include "support/harness.h"

namespace berth::cgroup {
namespace {

const char* kHybridMountinfo =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "41 30 0:31 / /mnt/again rw,relatime - cgroup cgroup rw,memory\n";

TEST(Layout, ParsesHybrid) {
  auto l = parse_layout(kHybridMountinfo, "4:memory:/a/b\n1:cpu:/\n9:name=systemd:/\n0::/x\n",
                        "hugetlb\n");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->mode, Mode::kHybrid);
  ASSERT_EQ(l->hierarchies.size(), 4u) << "a second mount of a hierarchy is not a new one";
  EXPECT_EQ(l->find("memory")->mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(l->find("memory")->current, "/a/b");
  EXPECT_EQ(l->find("name=systemd")->mount_point, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(l->find("hugetlb")->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l->unified()->current, "/x");
}

TEST(Layout, ParsesV2AndV1) {
  auto v2 = parse_layout("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/\n",
                         "cpu memory pids\n");
  EXPECT_EQ(v2->mode, Mode::kV2);
  EXPECT_TRUE(v2->find("pids"));
  auto v1 = parse_layout("1 0 0:1 / /c/pids rw - cgroup cgroup rw,pids\n", "1:pids:/\n", "");
  EXPECT_EQ(v1->mode, Mode::kV1);
  EXPECT_FALSE(parse_layout("", "", ""));
}

TEST(Layout, DetectsThisHost) {
  auto l = detect_layout();
  ASSERT_TRUE(l) << l.error().text();
  EXPECT_FALSE(l->hierarchies.empty());
}

TEST(Path, Resolution) {
  Layout l = *parse_layout(kHybridMountinfo, "4:memory:/own\n", "");
  EXPECT_EQ(*resolve_path(std::nullopt, "c1", false, l), "/berth/c1");
  EXPECT_EQ(*resolve_path("/x/y", "c1", false, l), "/x/y");
  EXPECT_EQ(*resolve_path("sub", "c1", false, l), "/own/sub");
  EXPECT_FALSE(resolve_path("../../esc", "c1", false, l));
  EXPECT_EQ(*resolve_path("machine.slice:libpod:abc", "c1", true, l),
            "/machine.slice/libpod-abc.scope");
  EXPECT_EQ(*resolve_path("a-b.slice:p:n", "c1", true, l), "/a.slice/a-b.slice/p-n.scope");
  EXPECT_EQ(*resolve_path(std::nullopt, "c1", true, l), "/system.slice/berth-c1.scope");
  EXPECT_FALSE(resolve_path("bad", "c1", true, l));
  EXPECT_FALSE(resolve_path("s.slice:p:n", "c1", false, l)) << "systemd form needs the flag";
}

TEST(Convert, SharesWeightsAndHugepageNames) {
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
  EXPECT_EQ(*hugepage_size_name("2MB"), "2MB");
  EXPECT_FALSE(hugepage_size_name("2M"));
}

// A fake host: v1 hierarchies and/or a unified one below a temp dir.
class Backends : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    std::string mi;
    Mode m = GetParam();
    int id = 100;
    auto v1 = [&](const std::string& c) {
      std::string d = tmp_.path() + "/" + c;
      mkdirs(d + "/berth/c1");
      mi += std::to_string(id++) + " 1 0:1 / " + d + " rw - cgroup cgroup rw," + c + "\n";
    };
    if (m != Mode::kV2) {
      for (const char* c : {"memory", "cpu", "cpuset", "pids", "freezer", "devices", "blkio"})
        v1(c);
      touch("cpuset/cpuset.cpus", "0-1\n");
      touch("cpuset/cpuset.mems", "0\n");
      touch("cpuset/berth/cpuset.cpus", "0-1\n");
      touch("cpuset/berth/cpuset.mems", "0\n");
      for (const char* f :
           {"memory/berth/c1/memory.limit_in_bytes", "memory/berth/c1/memory.memsw.limit_in_bytes",
            "memory/berth/c1/memory.soft_limit_in_bytes", "cpu/berth/c1/cpu.shares",
            "cpu/berth/c1/cpu.cfs_quota_us", "cpu/berth/c1/cpu.cfs_period_us",
            "pids/berth/c1/pids.max", "devices/berth/c1/devices.allow",
            "devices/berth/c1/devices.deny", "cpuset/berth/c1/cpuset.cpus",
            "cpuset/berth/c1/cpuset.mems"})
        touch(f, "");
      for (const char* c : {"memory", "cpu", "cpuset", "pids", "freezer", "devices", "blkio"})
        touch(std::string(c) + "/berth/c1/cgroup.procs", "");
    }
    std::string ctrls;
    if (m != Mode::kV1) {
      std::string u = m == Mode::kV2 ? "unified" : "unified";
      mkdirs(tmp_.path() + "/" + u + "/berth/c1");
      ctrls = m == Mode::kV2 ? "cpu memory pids cpuset hugetlb" : "hugetlb";
      touch(u + "/cgroup.controllers", ctrls + "\n");
      touch(u + "/cgroup.subtree_control", "");
      touch(u + "/berth/cgroup.controllers", ctrls + "\n");
      touch(u + "/berth/cgroup.subtree_control", "");
      touch(u + "/berth/c1/cgroup.controllers", ctrls + "\n");
      touch(u + "/berth/c1/cgroup.procs", "");
      for (const char* f : {"memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max",
                            "pids.max", "hugetlb.2MB.max"})
        touch(u + "/berth/c1/" + f, "");
      mi += "200 1 0:2 / " + tmp_.path() + "/" + u + " rw - cgroup2 cgroup2 rw\n";
    }
    auto l = parse_layout(mi, "", ctrls);
    ASSERT_TRUE(l) << l.error().text();
    layout_ = *l;
    auto mgr = make_manager(layout_, "/berth/c1");
    ASSERT_TRUE(mgr) << mgr.error().text();
    mgr_ = std::move(*mgr);
  }
  void mkdirs(const std::string& d) { ASSERT_TRUE(file::mkdir_all(d)); }
  void touch(const std::string& rel, const std::string& content) {
    std::ofstream(tmp_.path() + "/" + rel) << content;
  }
  std::string cat(const std::string& rel) { return test::read_file(tmp_.path() + "/" + rel); }

  test::TempDir tmp_;
  Layout layout_;
  std::unique_ptr<Manager> mgr_;
};

TEST_P(Backends, CreateAddAndApplyWriteTheRightFiles) {
  ASSERT_TRUE(mgr_->create());
  ASSERT_TRUE(mgr_->add(4242));
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;
  r.pids_limit = 10;
  r.cpu = oci::Cpu{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  auto applied = mgr_->apply(r);
  ASSERT_TRUE(applied) << applied.error().text();
  if (GetParam() == Mode::kV2) {
    EXPECT_EQ(cat("unified/berth/c1/cgroup.procs"), "4242");
    EXPECT_EQ(cat("unified/berth/c1/memory.max"), "1048576");
    EXPECT_EQ(cat("unified/berth/c1/pids.max"), "10");
    EXPECT_EQ(cat("unified/berth/c1/cpu.weight"), "39");
    EXPECT_EQ(cat("unified/berth/c1/cpu.max"), "50000 100000");
    EXPECT_EQ(cat("unified/cgroup.subtree_control"), "+cpu +memory +pids +cpuset +hugetlb");
  } else {
    EXPECT_EQ(cat("memory/berth/c1/cgroup.procs"), "4242");
    EXPECT_EQ(cat("pids/berth/c1/cgroup.procs"), "4242");
    EXPECT_EQ(cat("memory/berth/c1/memory.limit_in_bytes"), "1048576");
    EXPECT_EQ(cat("memory/berth/c1/memory.memsw.limit_in_bytes"), "1048576");
    EXPECT_EQ(cat("pids/berth/c1/pids.max"), "10");
    EXPECT_EQ(cat("cpu/berth/c1/cpu.shares"), "1024");
    EXPECT_EQ(cat("cpu/berth/c1/cpu.cfs_quota_us"), "50000");
    if (GetParam() == Mode::kHybrid) {
      EXPECT_EQ(cat("unified/berth/c1/cgroup.procs"), "4242");
    }
  }
}

TEST_P(Backends, HugepagesGoWhereTheControllerIs) {
  ASSERT_TRUE(mgr_->create());
  oci::Resources r;
  r.hugepage_limits = {{"2MB", 4194304}};
  auto applied = mgr_->apply(r);
  if (GetParam() == Mode::kV1) {
    ASSERT_FALSE(applied);
    EXPECT_NE(applied.error().message().find("hugetlb"), std::string::npos);
  } else {
    ASSERT_TRUE(applied) << applied.error().text();
    EXPECT_EQ(cat("unified/berth/c1/hugetlb.2MB.max"), "4194304");
  }
}

TEST_P(Backends, UnsupportedLimitsAreClearErrors) {
  ASSERT_TRUE(mgr_->create());
  oci::Resources r;
  r.network.emplace();
  r.network->class_id = 7;
  auto a = mgr_->apply(r);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("linux.resources.network"), std::string::npos)
      << a.error().message();
  oci::Resources u;
  u.unified["memory.high"] = "1000";
  auto b = mgr_->apply(u);
  if (GetParam() == Mode::kV1) {
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message().find("unified"), std::string::npos);
  } else {
    ASSERT_FALSE(b) << "memory.high does not exist in the fake cgroup";
    EXPECT_NE(b.error().message().find("memory.high"), std::string::npos);
  }
}

TEST_P(Backends, DestroyRemovesTheDirectories) {
  ASSERT_TRUE(mgr_->create());
  // Plain directories with files cannot be rmdir'ed; empty them as the kernel would.
  test::sh("find " + tmp_.path() + " -path '*/berth/c1/*' -type f -delete");
  ASSERT_TRUE(mgr_->destroy());
  for (const auto& [h, dir] : mgr_->dirs()) EXPECT_FALSE(file::exists(dir)) << dir;
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, Backends,
                         ::testing::Values(Mode::kV1, Mode::kV2, Mode::kHybrid),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

TEST(DeviceFilter, ProgramShape) {
  std::vector<oci::DeviceRule> rules = {{false, 'a', {}, {}, "rwm"}, {true, 'c', 1, 3, "rw"}};
  auto p = build_device_program(rules);
  // 6 loads, the rules (last first), and the final deny.
  ASSERT_GE(p.size(), 10u);
  EXPECT_EQ(p.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(p[p.size() - 2].imm, 0);
}

// The real kernel: a cgroup2 directory with a filter that denies /dev/null.
TEST(DeviceFilter, KernelEnforcesTheProgram) {
  auto l = detect_layout();
  ASSERT_TRUE(l);
  const Hierarchy* u = l->unified();
  if (!u) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
  std::string rel = "berth-test-devfilter-" + std::to_string(getpid());
  std::string dir = u->mount_point + "/" + rel;
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  UniqueFd root(open(u->mount_point.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto r = attach_device_filter(root.get(), rel,
                                {{true, 'a', {}, {}, "rwm"}, {false, 'c', 1, 3, "rwm"}});
  ASSERT_TRUE(r) << r.error().text();
  pid_t pid = fork();
  if (pid == 0) {
    std::ofstream(dir + "/cgroup.procs") << getpid();
    int fd = open("/dev/null", O_RDONLY);
    bool denied = fd < 0 && errno == EPERM;
    int zero = open("/dev/zero", O_RDONLY);
    std::ofstream(u->mount_point + "/cgroup.procs") << getpid();  // leave, so rmdir works
    _exit(denied && zero >= 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) usleep(10000);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
TEST(CgroupV1, NewCpusetIsFilledFromTheNearestFilledAncestor) {
  // berth/ was just made by another process and is still empty; berth/c9 is ours.
  test::TempDir t;
  ASSERT_TRUE(file::mkdir_all(t.path() + "/berth/c9"));
  auto put = [&](const std::string& f, const std::string& v) {
    std::ofstream(t.path() + "/" + f) << v;
  };
  put("cpuset.cpus", "0-1\n");
  put("cpuset.mems", "0\n");
  for (const char* d : {"berth/", "berth/c9/"}) {
    put(std::string(d) + "cpuset.cpus", "");
    put(std::string(d) + "cpuset.mems", "");
  }
  UniqueFd root(::open(t.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fill_cpuset(root.get(), "berth/c9"));
  EXPECT_EQ(test::read_file(t.path() + "/berth/cpuset.cpus"), "0-1");
  EXPECT_EQ(test::read_file(t.path() + "/berth/c9/cpuset.cpus"), "0-1");
  EXPECT_EQ(test::read_file(t.path() + "/berth/c9/cpuset.mems"), "0");
}

}  // namespace berth::cgroup
