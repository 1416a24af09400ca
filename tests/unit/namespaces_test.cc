#include "runtime/namespaces.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

oci::Linux with(std::vector<oci::Namespace> ns) {
  oci::Linux l;
  l.namespaces = std::move(ns);
  return l;
}

// The init may be cloned straight into its namespaces (and join the engine's network
// namespace itself) unless a joined namespace only applies to children or must be entered
// before the others.
TEST(Namespaces, WhichSpecsTakeTheDirectClone) {
  using T = oci::NsType;
  EXPECT_TRUE(direct_clone_ok(with({{T::kPid, ""}, {T::kNetwork, ""}, {T::kMount, ""}})));
  EXPECT_TRUE(direct_clone_ok(
      with({{T::kPid, ""}, {T::kNetwork, "/run/netns/x"}, {T::kIpc, "/proc/1/ns/ipc"}})));
  EXPECT_TRUE(direct_clone_ok(with({{T::kMount, ""}, {T::kUts, "/proc/1/ns/uts"}})));
  EXPECT_FALSE(direct_clone_ok(with({{T::kPid, "/proc/1/ns/pid"}, {T::kMount, ""}})));
  EXPECT_FALSE(direct_clone_ok(with({{T::kMount, "/proc/1/ns/mnt"}})));
  EXPECT_FALSE(direct_clone_ok(with({{T::kUser, ""}, {T::kMount, ""}})));
  EXPECT_FALSE(direct_clone_ok(with({{T::kTime, ""}, {T::kMount, ""}})));
  EXPECT_FALSE(direct_clone_ok(with({{T::kCgroup, "/proc/1/ns/cgroup"}})));
}

}  // namespace
}  // namespace berth::runtime
