#include "runtime/mount_plan.h"

#include <gtest/gtest.h>
#include <linux/mount.h>
#include <sys/mount.h>

#include "oci/spec.h"

namespace berth::runtime {
namespace {

TEST(MountOptions, FlagsDataAndPropagation) {
  MountOptions o = parse_mount_options(
      {"nosuid", "noexec", "ro", "rw", "mode=755", "size=65536k", "rslave", "x-systemd.foo"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(o.cleared, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(o.data, "mode=755,size=65536k");
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
}

TEST(MountOptions, RecursiveAttributes) {
  MountOptions o = parse_mount_options({"rro", "rnosuid", "rnoatime", "rrelatime"});
  EXPECT_EQ(o.attr_set & MOUNT_ATTR_RDONLY, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_EQ(o.attr_set & MOUNT_ATTR_NOSUID, static_cast<uint64_t>(MOUNT_ATTR_NOSUID));
  EXPECT_EQ(o.attr_set & MOUNT_ATTR__ATIME, static_cast<uint64_t>(MOUNT_ATTR_RELATIME));
  EXPECT_TRUE(o.attr_clr & MOUNT_ATTR__ATIME);
}

TEST(MountPlan, KindsAndBindRemounts) {
  oci::Spec s;
  s.mounts = {{"/proc", "proc", "proc", {}, {}, {}},
              {"/data", "bind", "/host", {"rbind", "ro"}, {}, {}},
              {"/plain", "none", "/host", {"bind"}, {}, {}},
              {"/t/../t2", "tmpfs", "tmpfs", {"tmpcopyup"}, {}, {}},
              {"/sys/fs/cgroup", "cgroup", "cgroup", {"ro"}, {}, {}}};
  auto plan = plan_mounts(s);
  ASSERT_TRUE(plan) << plan.error().text();
  ASSERT_EQ(plan->size(), 5u);
  EXPECT_EQ((*plan)[0].kind, MountKind::kProc);
  EXPECT_EQ((*plan)[1].kind, MountKind::kBind);
  EXPECT_TRUE((*plan)[1].opts.recursive);
  EXPECT_TRUE((*plan)[1].needs_remount());
  EXPECT_FALSE((*plan)[2].needs_remount());
  EXPECT_EQ((*plan)[3].destination, "/t2");
  EXPECT_TRUE((*plan)[3].opts.tmpcopyup);
  EXPECT_EQ((*plan)[4].kind, MountKind::kCgroup);
}

TEST(MountPlan, Errors) {
  oci::Spec s;
  s.mounts = {{"/x", "bind", "", {}, {}, {}}};
  EXPECT_NE(plan_mounts(s).error().message().find("needs a source"), std::string::npos);
  s.mounts = {{"/x", "", "", {}, {}, {}}};
  EXPECT_FALSE(plan_mounts(s));
  s.mounts = {{"/", "tmpfs", "", {}, {}, {}}};
  EXPECT_FALSE(plan_mounts(s));
  s.mounts = {{"/x", "proc", "", {"tmpcopyup"}, {}, {}}};
  EXPECT_FALSE(plan_mounts(s));
}

TEST(MountPlan, RootPropagation) {
  EXPECT_EQ(root_propagation_flags(""), static_cast<unsigned long>(MS_REC | MS_SLAVE));
  EXPECT_EQ(root_propagation_flags("rprivate"), static_cast<unsigned long>(MS_REC | MS_PRIVATE));
  EXPECT_EQ(root_propagation_flags("shared"), static_cast<unsigned long>(MS_SHARED));
}

}  // namespace
}  // namespace berth::runtime
