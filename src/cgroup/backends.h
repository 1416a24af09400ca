// The three Manager backends (internal to src/cgroup; make_manager picks one).
#pragma once

#include "cgroup/fs.h"
#include "cgroup/manager.h"

namespace berth::cgroup {

// Gives the v1 cpuset at rel (below the hierarchy's root fd) its parent's cpus and mems,
// filling empty ancestors first (one another berth made a moment ago and has not filled).
Result<void> fill_cpuset(int root, const std::string& rel);

class V1 : public Manager {
 public:
  V1(const Layout& layout, std::string path);
  Result<void> open();
  Result<void> create() override;
  Result<void> add(pid_t pid) override;
  Result<void> apply(const oci::Resources& r) override;
  Result<void> destroy() override;
  Result<std::vector<pid_t>> pids() override;
  Result<void> set_frozen(bool frozen) override;
  Result<bool> frozen() override;
  Result<Stats> stats() override;
  std::vector<std::pair<const Hierarchy*, std::string>> dirs() const override;
  const Layout& layout() const override { return layout_; }
  const std::string& path() const override { return path_; }

 private:
  struct Entry {
    const Hierarchy* h;
    fs::Dir dir;
  };
  const fs::Dir* dir(std::string_view controller) const;
  Result<const fs::Dir*> need(std::string_view controller, std::string_view what) const;
  Result<void> apply_memory(const oci::Memory& m);
  Result<void> apply_cpu(const oci::Cpu& c);
  Result<void> apply_blkio(const oci::BlockIo& b);

  Layout layout_;
  std::string path_;
  std::vector<Entry> dirs_;
};

class V2 : public Manager {
 public:
  V2(const Layout& layout, std::string path);
  Result<void> open();
  Result<void> create() override;
  Result<void> add(pid_t pid) override;
  Result<void> apply(const oci::Resources& r) override;
  Result<void> destroy() override;
  Result<std::vector<pid_t>> pids() override;
  Result<void> set_frozen(bool frozen) override;
  Result<bool> frozen() override;
  Result<Stats> stats() override;
  std::vector<std::pair<const Hierarchy*, std::string>> dirs() const override;
  const Layout& layout() const override { return layout_; }
  const std::string& path() const override { return path_; }

  // Controllers usable in the container's cgroup (after create()).
  bool has_controller(std::string_view c) const;

 private:
  Result<void> need(std::string_view controller, std::string_view what) const;
  Result<void> apply_memory(const oci::Memory& m);
  Result<void> apply_cpu(const oci::Cpu& c);
  Result<void> apply_io(const oci::BlockIo& b);
  Result<void> apply_devices(const std::vector<oci::DeviceRule>& rules);

  Layout layout_;
  std::string path_;
  const Hierarchy* h_ = nullptr;
  fs::Dir dir_;
  std::vector<std::string> enabled_;
};

class Hybrid : public Manager {
 public:
  Hybrid(const Layout& layout, std::string path);
  Result<void> open();
  Result<void> create() override;
  Result<void> add(pid_t pid) override;
  Result<void> apply(const oci::Resources& r) override;
  Result<void> destroy() override;
  Result<std::vector<pid_t>> pids() override { return v1_.pids(); }
  Result<void> set_frozen(bool frozen) override { return v1_.set_frozen(frozen); }
  Result<bool> frozen() override { return v1_.frozen(); }
  Result<Stats> stats() override { return v1_.stats(); }
  std::vector<std::pair<const Hierarchy*, std::string>> dirs() const override;
  const Layout& layout() const override { return layout_; }
  const std::string& path() const override { return path_; }

 private:
  Layout layout_;
  std::string path_;
  V1 v1_;
  V2 v2_;
};

}  // namespace berth::cgroup
