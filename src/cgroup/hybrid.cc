// Hybrid: v1 hierarchies plus a cgroup2 mount holding the controllers v1 does not use
// (on the CI machine: hugetlb). Each limit goes to whichever side has its controller.
#include "cgroup/backends.h"

namespace berth::cgroup {

Hybrid::Hybrid(const Layout& layout, std::string path)
    : layout_(layout), path_(path), v1_(layout, path), v2_(layout, path) {}

Result<void> Hybrid::open() {
  BERTH_CHECK(v1_.open());
  BERTH_CHECK(v2_.open());
  return {};
}

Result<void> Hybrid::create() {
  BERTH_CHECK(v1_.create());
  return v2_.create();
}

Result<void> Hybrid::add(pid_t pid) {
  BERTH_CHECK(v1_.add(pid));
  return v2_.add(pid);
}

Result<void> Hybrid::apply(const oci::Resources& r) {
  auto on_v1 = [&](std::string_view c) { return layout_.find(c) && !layout_.find(c)->unified; };
  oci::Resources a, b;  // a: v1, b: v2
  (on_v1("devices") ? a : b).devices = r.devices;
  (on_v1("memory") ? a : b).memory = r.memory;
  if (r.cpu) {
    oci::Cpu cpu = *r.cpu, cpuset;
    cpuset.cpus = cpu.cpus;
    cpuset.mems = cpu.mems;
    cpu.cpus.clear();
    cpu.mems.clear();
    (on_v1("cpu") ? a : b).cpu = cpu;
    oci::Resources& s = on_v1("cpuset") ? a : b;
    if (!cpuset.cpus.empty() || !cpuset.mems.empty()) {
      if (!s.cpu) s.cpu = oci::Cpu{};
      s.cpu->cpus = cpuset.cpus;
      s.cpu->mems = cpuset.mems;
    }
  }
  (on_v1("pids") ? a : b).pids_limit = r.pids_limit;
  (on_v1("blkio") ? a : b).block_io = r.block_io;
  (on_v1("hugetlb") ? a : b).hugepage_limits = r.hugepage_limits;
  a.network = r.network;
  b.unified = r.unified;
  a.has_rdma = r.has_rdma;
  BERTH_CHECK(v1_.apply(a));
  return v2_.apply(b);
}

Result<void> Hybrid::destroy() {
  auto r1 = v1_.destroy();
  auto r2 = v2_.destroy();
  if (!r1) return r1;
  return r2;
}

std::vector<std::pair<const Hierarchy*, std::string>> Hybrid::dirs() const {
  auto out = v1_.dirs();
  for (auto& d : v2_.dirs()) out.push_back(d);
  return out;
}

}  // namespace berth::cgroup
