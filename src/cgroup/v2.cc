// cgroup v2: one unified hierarchy; controllers are enabled down the tree through
// cgroup.subtree_control.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "base/strings.h"
#include "cgroup/backends.h"
#include "cgroup/device_filter.h"

namespace berth::cgroup {

V2::V2(const Layout& layout, std::string path) : layout_(layout), path_(std::move(path)) {}

Result<void> V2::open() {
  h_ = layout_.unified();
  if (!h_) return fail(make_error(ErrorKind::kUnavailable, "no cgroup v2 hierarchy"));
  dir_ = BERTH_TRY(fs::open_dir(h_->mount_point, path_, h_->mount_root));
  return {};
}

bool V2::has_controller(std::string_view c) const {
  return std::find(enabled_.begin(), enabled_.end(), c) != enabled_.end();
}

Result<void> V2::need(std::string_view controller, std::string_view what) const {
  if (has_controller(controller)) return {};
  return fail(make_error(ErrorKind::kUnavailable,
                         "linux.resources.{}: the {} cgroup controller is not available to this "
                         "container's cgroup",
                         what, controller));
}

Result<void> V2::create() {
  // Enable every controller the root offers down to the container's parent. A parent that
  // holds processes cannot delegate (the no-internal-process rule); then fewer controllers
  // are enabled and a limit that needs a missing one fails with a clear error in apply().
  // A concurrent delete may remove an empty shared parent (/berth) meanwhile: start over.
  std::vector<std::string> parts = split(dir_.rel, '/');
  for (int attempt = 0;; ++attempt) {
    std::string cur;
    fs::Dir walk{UniqueFd(::dup(dir_.root.get())), "", h_->mount_point};
    bool retry = false;
    for (size_t i = 0; i < parts.size() && !retry; ++i) {
      if (parts[i].empty()) continue;
      walk.rel = cur;
      std::string avail = std::string(trim(fs::read(walk, "cgroup.controllers").value_or("")));
      std::string enable;
      for (const std::string& c : split(avail, ' ')) {
        if (c.empty()) continue;
        if (!enable.empty()) enable.push_back(' ');
        enable += "+" + c;
      }
      if (!enable.empty()) {
        if (auto r = fs::write(walk, "cgroup.subtree_control", enable); !r)
          log::debug("enable controllers in {}: {}", walk.abs, r.error().text());
      }
      cur = cur.empty() ? parts[i] : cur + "/" + parts[i];
      if (::mkdirat(dir_.root.get(), cur.c_str(), 0755) != 0 && errno != EEXIST) {
        if (errno == ENOENT && attempt < 5) {
          retry = true;
          break;
        }
        return fail(sys_error(errno, "mkdir cgroup {}/{}", h_->mount_point, cur));
      }
    }
    if (!retry) break;
  }
  std::string mine = std::string(trim(fs::read(dir_, "cgroup.controllers").value_or("")));
  enabled_.clear();
  for (const std::string& c : split(mine, ' '))
    if (!c.empty()) enabled_.push_back(c);
  return {};
}

Result<void> V2::add(pid_t pid) { return fs::write(dir_, "cgroup.procs", std::to_string(pid)); }

Result<void> V2::destroy() {
  // cgroup.kill (5.14+) ends anything left; then the directory can go.
  if (fs::has_file(dir_, "cgroup.kill")) {
    auto pids = fs::read_pids(dir_);
    if (pids && !pids->empty()) (void)fs::write(dir_, "cgroup.kill", "1");
  }
  return fs::remove(dir_);
}

Result<std::vector<pid_t>> V2::pids() { return fs::read_pids(dir_); }

Result<void> V2::set_frozen(bool frozen) {
  if (!fs::has_file(dir_, "cgroup.freeze"))
    return fail(make_error(ErrorKind::kUnavailable, "this kernel has no cgroup.freeze"));
  BERTH_CHECK(fs::write(dir_, "cgroup.freeze", frozen ? "1" : "0"));
  std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 1000; ++i) {
    std::string ev = BERTH_TRY(fs::read(dir_, "cgroup.events"));
    if (ev.find(want) != std::string::npos) return {};
    timespec ts{0, 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return fail(
      make_error(ErrorKind::kInternal, "cgroup {} did not {}", path_, frozen ? "freeze" : "thaw"));
}

Result<bool> V2::frozen() {
  auto v = fs::read(dir_, "cgroup.freeze");
  if (!v) return false;
  return trim(*v) == "1";
}

Result<void> V2::apply_memory(const oci::Memory& m) {
  BERTH_CHECK(need("memory", "memory"));
  auto val = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
  if (m.swap && *m.swap != 0) {
    // The spec's swap is memory+swap; v2's memory.swap.max is swap alone.
    if (!fs::has_file(dir_, "memory.swap.max")) {
      if (*m.swap != -1 && (!m.limit || *m.swap != *m.limit))
        return fail(make_error(ErrorKind::kUnavailable,
                               "linux.resources.memory.swap: swap accounting is not enabled on "
                               "this host"));
    } else {
      std::string sw;
      if (*m.swap == -1) {
        sw = "max";
      } else if (!m.limit || *m.limit == -1) {
        return fail(invalid("linux.resources.memory.swap: needs memory.limit on cgroup v2"));
      } else if (*m.swap < *m.limit) {
        return fail(invalid("linux.resources.memory.swap: {} is below the memory limit {}", *m.swap,
                            *m.limit));
      } else {
        sw = std::to_string(*m.swap - *m.limit);
      }
      BERTH_CHECK(fs::write(dir_, "memory.swap.max", sw));
    }
  }
  if (m.limit) BERTH_CHECK(fs::write(dir_, "memory.max", val(*m.limit)));
  if (m.reservation) BERTH_CHECK(fs::write(dir_, "memory.low", val(*m.reservation)));
  if (m.kernel) log::warn("linux.resources.memory.kernel is deprecated and ignored");
  if (m.kernel_tcp) log::warn("linux.resources.memory.kernelTCP is not supported on cgroup v2");
  if (m.swappiness)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.memory.swappiness: not supported on cgroup v2"));
  if (m.disable_oom_killer && *m.disable_oom_killer)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.memory.disableOOMKiller: not supported on cgroup v2"));
  return {};
}

Result<void> V2::apply_cpu(const oci::Cpu& c) {
  if (c.shares || c.quota || c.period || c.burst || c.idle) {
    BERTH_CHECK(need("cpu", "cpu"));
    if (c.shares && *c.shares != 0)
      BERTH_CHECK(fs::write(dir_, "cpu.weight", std::to_string(shares_to_weight(*c.shares))));
    if (c.quota || c.period) {
      std::string q = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
      uint64_t period = c.period && *c.period ? *c.period : 100000;
      BERTH_CHECK(fs::write(dir_, "cpu.max", fmt::format("{} {}", q, period)));
    }
    if (c.burst) BERTH_CHECK(fs::write(dir_, "cpu.max.burst", std::to_string(*c.burst)));
    if (c.idle) BERTH_CHECK(fs::write(dir_, "cpu.idle", std::to_string(*c.idle)));
  }
  if (c.realtime_period || c.realtime_runtime)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.cpu.realtimeRuntime: not supported on cgroup v2"));
  if (!c.cpus.empty() || !c.mems.empty()) {
    BERTH_CHECK(need("cpuset", "cpu.cpus"));
    if (!c.cpus.empty()) BERTH_CHECK(fs::write(dir_, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_CHECK(fs::write(dir_, "cpuset.mems", c.mems));
  }
  return {};
}

Result<void> V2::apply_io(const oci::BlockIo& b) {
  BERTH_CHECK(need("io", "blockIO"));
  auto weight_file = [&]() -> Result<std::string> {
    if (fs::has_file(dir_, "io.weight")) return std::string("io.weight");
    if (fs::has_file(dir_, "io.bfq.weight")) return std::string("io.bfq.weight");
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.blockIO.weight: this host's I/O scheduler has no "
                           "io.weight"));
  };
  if (b.weight) {
    std::string f = BERTH_TRY(weight_file());
    uint64_t w = f == "io.weight" ? blkio_weight_to_io_weight(*b.weight) : *b.weight;
    BERTH_CHECK(fs::write(dir_, f, fmt::format("default {}", w)));
  }
  if (b.leaf_weight)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.blockIO.leafWeight: not supported on cgroup v2"));
  for (const auto& w : b.weight_device) {
    if (!w.weight) continue;
    std::string f = BERTH_TRY(weight_file());
    uint64_t v = f == "io.weight" ? blkio_weight_to_io_weight(*w.weight) : *w.weight;
    BERTH_CHECK(fs::write(dir_, f, fmt::format("{}:{} {}", w.major, w.minor, v)));
  }
  auto throttle = [&](const std::vector<oci::ThrottleDevice>& v, const char* key) -> Result<void> {
    for (const auto& t : v)
      BERTH_CHECK(
          fs::write(dir_, "io.max", fmt::format("{}:{} {}={}", t.major, t.minor, key, t.rate)));
    return {};
  };
  BERTH_CHECK(throttle(b.throttle_read_bps, "rbps"));
  BERTH_CHECK(throttle(b.throttle_write_bps, "wbps"));
  BERTH_CHECK(throttle(b.throttle_read_iops, "riops"));
  BERTH_CHECK(throttle(b.throttle_write_iops, "wiops"));
  return {};
}

Result<void> V2::apply_devices(const std::vector<oci::DeviceRule>& rules) {
  return attach_device_filter(dir_.root.get(), dir_.rel, rules);
}

Result<void> V2::apply(const oci::Resources& r) {
  if (!r.devices.empty()) BERTH_CHECK(apply_devices(r.devices));
  if (r.memory) BERTH_CHECK(apply_memory(*r.memory));
  if (r.cpu) BERTH_CHECK(apply_cpu(*r.cpu));
  if (r.pids_limit && *r.pids_limit != 0) {
    BERTH_CHECK(need("pids", "pids"));
    BERTH_CHECK(
        fs::write(dir_, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
  }
  if (r.block_io) BERTH_CHECK(apply_io(*r.block_io));
  for (const auto& h : r.hugepage_limits) {
    BERTH_CHECK(need("hugetlb", "hugepageLimits"));
    std::string size = BERTH_TRY(hugepage_size_name(h.page_size));
    BERTH_CHECK(fs::write(dir_, fmt::format("hugetlb.{}.max", size), std::to_string(h.limit)));
  }
  if (r.network && (r.network->class_id || !r.network->priorities.empty()))
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.network: net_cls and net_prio do not exist on cgroup "
                           "v2"));
  for (const auto& [key, value] : r.unified) {
    if (key.find('/') != std::string::npos || key.empty() || key[0] == '.')
      return fail(invalid("linux.resources.unified: bad key {:?}", key));
    if (!fs::has_file(dir_, key)) {
      std::string ctrl = key.substr(0, key.find('.'));
      return fail(make_error(ErrorKind::kUnavailable,
                             "linux.resources.unified.{}: no such file in the container's cgroup "
                             "(is the {} controller available?)",
                             key, ctrl));
    }
    BERTH_CHECK(fs::write(dir_, key, value));
  }
  if (r.has_rdma)
    return fail(make_error(ErrorKind::kUnavailable,
                           "linux.resources.rdma: the rdma controller is not supported"));
  return {};
}

Result<Stats> V2::stats() {
  Stats s;
  auto num = [](Result<std::string> r) -> uint64_t {
    if (!r) return 0;
    auto v = parse_uint(trim(*r));
    return v ? *v : 0;
  };
  s.memory_usage = num(fs::read(dir_, "memory.current"));
  s.memory_limit = num(fs::read(dir_, "memory.max"));
  s.pids_current = num(fs::read(dir_, "pids.current"));
  s.pids_limit = num(fs::read(dir_, "pids.max"));
  if (auto st = fs::read(dir_, "cpu.stat")) {
    for (const std::string& l : split(*st, '\n'))
      if (l.rfind("usage_usec ", 0) == 0)
        s.cpu_usage_ns = parse_uint(l.substr(11)).value_or(0) * 1000;
  }
  return s;
}

std::vector<std::pair<const Hierarchy*, std::string>> V2::dirs() const { return {{h_, dir_.abs}}; }

}  // namespace berth::cgroup
