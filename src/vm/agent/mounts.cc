// The container's root in the guest: the ext4 image on /dev/vda (or, for a small tree, its
// copy unpacked from the initramfs at /rootfs) entered as "/", then the
// spec's mounts made inside it (so symlinks resolve in the container's root), masked and
// read-only paths, and a read-only root last.
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "vm/agent/agent.h"

namespace berth::vm::agent {
namespace {

// The virtiofs mounts, opened (their paths may be covered later).
std::vector<UniqueFd>& shared_mounts() {
  static std::vector<UniqueFd> fds;
  return fds;
}

Result<void> wait_for(const char* dev, int timeout_ms) {
  for (int waited = 0; ::access(dev, F_OK) != 0; waited += 2) {
    if (waited > timeout_ms) return fail(make_error(ErrorKind::kNotFound, "no {}", dev));
    timespec ts{0, 2 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return {};
}

// Makes the mount point: a directory, or an empty file for a file mount.
Result<void> make_target(const std::string& target, bool is_file) {
  BERTH_CHECK(file::mkdir_all(is_file ? path::dirname(target) : target));
  if (is_file) {
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EISDIR) return fail(sys_error(errno, "create {}", target));
    if (fd >= 0) ::close(fd);
  }
  return {};
}

// Binds the file at `files_dir`/`name` (in the initramfs, left behind the new root) onto
// target, through a detached mount tree (no /proc needed).
Result<void> bind_from(int files_dir, const std::string& name, const std::string& target) {
  UniqueFd tree(::open_tree(files_dir, name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree) return fail(sys_error(errno, "open_tree {}", name));
  if (::move_mount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail(sys_error(errno, "move_mount {}", target));
  return {};
}

Result<void> make_mount(const proto::GuestMount& m, int files_dir, size_t index) {
  std::string target = path::clean("/" + m.target);
  bool is_file = m.kind == proto::GuestMount::Kind::kFile;
  BERTH_CHECK_CTX(make_target(target, is_file), "mount {}", target);
  unsigned long flags = static_cast<unsigned long>(m.flags);
  switch (m.kind) {
    case proto::GuestMount::Kind::kMount: {
      const char* data = m.data.empty() ? nullptr : m.data.c_str();
      if (::mount(m.source.c_str(), target.c_str(), m.fstype.c_str(), flags, data) != 0) {
        int err = errno;
        // cgroup2 and mqueue are optional in a guest kernel: not fatal.
        if (m.fstype == "cgroup2" || m.fstype == "mqueue") {
          say(fmt::format("mount {} on {}: {}", m.fstype, target, strerror(err)));
          return {};
        }
        return fail(sys_error(err, "mount {} on {}", m.fstype, target));
      }
      if (m.fstype == "devtmpfs") {
        // What runtimes add to /dev: the fd links.
        (void)::symlink("/proc/self/fd", (target + "/fd").c_str());
        (void)::symlink("/proc/self/fd/0", (target + "/stdin").c_str());
        (void)::symlink("/proc/self/fd/1", (target + "/stdout").c_str());
        (void)::symlink("/proc/self/fd/2", (target + "/stderr").c_str());
      }
      return {};
    }
    case proto::GuestMount::Kind::kVirtiofs:
      if (::mount(m.source.c_str(), target.c_str(), "virtiofs", flags, nullptr) != 0)
        return fail(sys_error(errno, "mount virtiofs {} on {}", m.source, target));
      shared_mounts().emplace_back(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      return {};
    case proto::GuestMount::Kind::kFile: {
      BERTH_CHECK(bind_from(files_dir, std::to_string(index), target));
      if (flags & MS_RDONLY)
        if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) !=
            0)
          return fail(sys_error(errno, "remount {} read-only", target));
      return {};
    }
  }
  return {};
}

void mask(const std::string& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode))
    ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "size=0");
  else
    ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
}

void make_readonly(const std::string& p) {
  if (::access(p.c_str(), F_OK) != 0) return;
  if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0)
    ::mount(nullptr, p.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
}

}  // namespace

void sync_shared() {
  for (const auto& fd : shared_mounts())
    if (fd) ::syncfs(fd.get());
}

Result<void> setup_root(const proto::GuestConfig& c) {
  // Copied files wait in the initramfs until they are bound into place.
  ::mkdir("/files", 0700);
  for (size_t i = 0; i < c.mounts.size(); ++i)
    if (c.mounts[i].kind == proto::GuestMount::Kind::kFile)
      BERTH_CHECK(
          file::write_atomic("/files/" + std::to_string(i), c.mounts[i].content, 0644, false));
  UniqueFd files(::open("/files", O_PATH | O_DIRECTORY | O_CLOEXEC));

  ::mkdir("/newroot", 0755);
  if (c.root_in_initramfs) {
    if (::mount("/rootfs", "/newroot", nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return fail(sys_error(errno, "bind the root file system (/rootfs of the initramfs)"));
  } else {
    BERTH_CHECK(wait_for("/dev/vda", 20000));
    if (::mount("/dev/vda", "/newroot", "ext4", MS_NOATIME, nullptr) != 0)
      return fail(sys_error(errno, "mount the root file system (/dev/vda)"));
  }
  if (::chdir("/newroot") != 0) return fail(sys_error(errno, "chdir /newroot"));
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
    return fail(sys_error(errno, "move the root file system to /"));
  if (::chroot(".") != 0) return fail(sys_error(errno, "chroot"));
  if (::chdir("/") != 0) return fail(sys_error(errno, "chdir /"));

  for (size_t i = 0; i < c.mounts.size(); ++i) BERTH_CHECK(make_mount(c.mounts[i], files.get(), i));
  for (const auto& [key, value] : c.sysctl) {
    std::string p = "/proc/sys/" + key;
    for (size_t i = 10; i < p.size(); ++i)
      if (p[i] == '.') p[i] = '/';
    BERTH_CHECK_CTX(file::write(p, value), "sysctl {}", key);
  }
  for (const auto& p : c.masked_paths) mask(p);
  for (const auto& p : c.readonly_paths) make_readonly(p);
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0)
    return fail(sys_error(errno, "sethostname {}", c.hostname));
  if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) != 0)
    return fail(sys_error(errno, "setdomainname {}", c.domainname));
  if (c.root_readonly &&
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
    return fail(sys_error(errno, "remount / read-only"));
  return {};
}

}  // namespace berth::vm::agent
