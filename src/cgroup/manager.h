// One interface over the three cgroup layouts (crun's manager table, chosen at run time):
// v1, v2 and hybrid. Every file is written relative to the dirfd of a hierarchy's mount
// point, so tests point a manager at a temp directory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/layout.h"
#include "oci/spec.h"

namespace berth::cgroup {

struct Stats {
  uint64_t memory_usage = 0;
  uint64_t memory_limit = 0;
  uint64_t cpu_usage_ns = 0;
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;
};

class Manager {
 public:
  virtual ~Manager() = default;

  // Makes the cgroup directories (parents too) and prepares them for use.
  virtual Result<void> create() = 0;
  virtual Result<void> add(pid_t pid) = 0;
  // Writes the limits; a limit the host cannot apply is an error naming it.
  virtual Result<void> apply(const oci::Resources& r) = 0;
  // Removes the cgroup directories (the processes must be gone; waits briefly for them).
  virtual Result<void> destroy() = 0;
  virtual Result<std::vector<pid_t>> pids() = 0;
  virtual Result<void> set_frozen(bool frozen) = 0;
  virtual Result<bool> frozen() = 0;
  virtual Result<Stats> stats() = 0;
  // The container's cgroup directory in each hierarchy: (hierarchy, absolute directory).
  virtual std::vector<std::pair<const Hierarchy*, std::string>> dirs() const = 0;
  virtual const Layout& layout() const = 0;
  // The cgroup path (same in every hierarchy), e.g. "/berth/c1".
  virtual const std::string& path() const = 0;
};

// A manager of the cgroup at path (absolute, within each hierarchy) for the given layout.
Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, std::string path);

// Removes the directory of an empty cgroup (a shared parent like /berth) in every hierarchy,
// once, without waiting; a cgroup still in use stays.
void remove_if_empty(const Layout& layout, std::string_view path);

// Resolves config.json's linux.cgroupsPath to an absolute cgroup path:
//  - absent: "/berth/<id>";
//  - "/a/b": itself; "a/b": below this process's own cgroup;
//  - systemd ("slice:prefix:name", with --systemd-cgroup): the path systemd would use,
//    "/machine.slice/libpod-<name>.scope", built on cgroupfs when systemd is absent.
Result<std::string> resolve_path(const std::optional<std::string>& cgroups_path,
                                 std::string_view id, bool systemd, const Layout& layout);

// Conversions between v1 and v2 values (pure, unit-tested).
uint64_t shares_to_weight(uint64_t shares);      // cpu.shares -> cpu.weight
uint64_t blkio_weight_to_io_weight(uint64_t w);  // blkio.weight -> io.weight
// "2MB" -> "2MB" (v1 file names use the size with unit), validated.
Result<std::string> hugepage_size_name(std::string_view page_size);

}  // namespace berth::cgroup
