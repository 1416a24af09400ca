#include "runtime/rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "sys/in_root.h"
#include "sys/syscalls.h"

namespace berth::runtime {
namespace {

using sys::fd_path;

Result<void> do_mount(const std::string& src, const std::string& target, const char* type,
                      unsigned long flags, const std::string& data, std::string_view what) {
  if (::mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    return fail(sys_error(errno, "mount {}", what));
  return {};
}

// Flags of the mount at fd that a bind remount must keep (locked in a user namespace).
unsigned long kept_flags(int fd, unsigned long cleared) {
  struct statvfs sv {};
  if (::fstatvfs(fd, &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f & ~cleared;
}

Result<void> set_recursive_attrs(int fd, const MountOptions& o, std::string_view what) {
  if (!o.attr_set && !o.attr_clr) return {};
  mount_attr attr{};
  attr.attr_set = o.attr_set;
  attr.attr_clr = o.attr_clr;
  if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
    return fail(sys_error(errno, "set recursive mount options on {}", what));
  return {};
}

// Copies a directory tree (regular files, directories, symlinks) from src to dst, keeping
// modes and owners. Used by tmpcopyup.
Result<void> copy_tree(int src, int dst) {
  UniqueFd dup_fd(::openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dup_fd) return fail(sys_error(errno, "open directory to copy"));
  DIR* d = ::fdopendir(dup_fd.release());
  if (!d) return fail(sys_error(errno, "read directory to copy"));
  Result<void> res;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst, e->d_name, st.st_mode & 07777) != 0 && errno != EEXIST) {
        res = fail(sys_error(errno, "copy {}", n));
        break;
      }
      UniqueFd s(::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd t(::openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s || !t) continue;
      if (auto r = copy_tree(s.get(), t.get()); !r) {
        res = std::move(r);
        break;
      }
      (void)::fchown(t.get(), st.st_uid, st.st_gid);
      (void)::fchmod(t.get(), st.st_mode & 07777);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd s(::openat(::dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd t(::openat(dst, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          st.st_mode & 07777));
      if (!s || !t) continue;
      char buf[65536];
      ssize_t n2;
      while ((n2 = ::read(s.get(), buf, sizeof buf)) > 0) {
        if (::write(t.get(), buf, static_cast<size_t>(n2)) != n2) break;
      }
      (void)::fchown(t.get(), st.st_uid, st.st_gid);
      (void)::fchmod(t.get(), st.st_mode & 07777);
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n2 = ::readlinkat(::dirfd(d), e->d_name, buf, sizeof buf - 1);
      if (n2 < 0) continue;
      buf[n2] = 0;
      (void)::symlinkat(buf, dst, e->d_name);
      (void)::fchownat(dst, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
  }
  ::closedir(d);
  return res;
}

std::string bind_source(const RootfsContext& ctx, const std::string& src) {
  if (path::is_absolute(src)) return src;
  return path::join(ctx.bundle, src);
}

Result<void> mount_bind(int rootfd, const PlannedMount& m, const std::string& src,
                        const std::string& what) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) return fail(sys_error(errno, "{}: source {}", what, src));
  UniqueFd target = BERTH_TRY(sys::open_in_root(
      rootfd, m.destination, S_ISDIR(st.st_mode) ? sys::Create::kDir : sys::Create::kFile));
  BERTH_CHECK(do_mount(src, fd_path(target.get()), nullptr,
                       MS_BIND | (m.opts.recursive ? MS_REC : 0), "", what));
  // The fd still names the directory under the new mount: open the mount itself.
  UniqueFd top = BERTH_TRY(sys::open_in_root(rootfd, m.destination));
  if (m.needs_remount()) {
    unsigned long flags = (m.opts.flags & ~(MS_REC | MS_REMOUNT)) | MS_BIND | MS_REMOUNT;
    flags |= kept_flags(top.get(), m.opts.cleared);
    BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr, flags, "", what));
  }
  if (m.opts.propagation)
    BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr, m.opts.propagation, "", what));
  return set_recursive_attrs(top.get(), m.opts, what);
}

// /sys/fs/cgroup inside the container. With a cgroup namespace the kernel shows the
// container's own cgroup as the root; without one, the container's directories are bound.
Result<void> mount_cgroup(const RootfsContext& ctx, int rootfd, const PlannedMount& m,
                          const std::string& what) {
  if (!ctx.cgroups) return fail(make_error(ErrorKind::kInternal, "{}: no cgroup manager", what));
  unsigned long flags = m.opts.flags & ~(MS_BIND | MS_REC);
  const cgroup::Layout& layout = ctx.cgroups->layout();
  auto dirs = ctx.cgroups->dirs();
  // Mounts one hierarchy at dest (a path inside the rootfs).
  auto mount_one = [&](const std::string& dest, const cgroup::Hierarchy* h,
                       const std::string& hostdir, unsigned long fl) -> Result<void> {
    UniqueFd t = BERTH_TRY(sys::open_in_root(rootfd, dest, sys::Create::kDir));
    if (ctx.cgroupns && !(ctx.userns && !h->unified)) {
      std::string data = h->unified ? "" : join(h->controllers, ",");
      if (!h->unified && h->controllers.size() == 1 && h->controllers[0].rfind("name=", 0) == 0)
        data = "none," + h->controllers[0];
      if (do_mount(h->unified ? "cgroup2" : "cgroup", fd_path(t.get()),
                   h->unified ? "cgroup2" : "cgroup", fl, data, what))
        return {};
    }
    BERTH_CHECK(do_mount(hostdir, fd_path(t.get()), nullptr, MS_BIND | MS_REC, "", what));
    if (fl & MS_RDONLY) {
      UniqueFd top = BERTH_TRY(sys::open_in_root(rootfd, dest));
      BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr,
                           MS_BIND | MS_REMOUNT | fl | kept_flags(top.get(), 0), "", what));
    }
    return {};
  };
  if (layout.mode == cgroup::Mode::kV2)
    return mount_one(m.destination, dirs.front().first, dirs.front().second, flags);
  // v1 and hybrid: a tmpfs with one directory per hierarchy.
  UniqueFd t = BERTH_TRY(sys::open_in_root(rootfd, m.destination, sys::Create::kDir));
  BERTH_CHECK(do_mount("tmpfs", fd_path(t.get()), "tmpfs",
                       (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", what));
  for (const auto& [h, hostdir] : dirs) {
    std::string name;
    if (h->unified) {
      name = "unified";
    } else {
      name = join(h->controllers, ",");
      if (name.rfind("name=", 0) == 0) name = name.substr(5);
    }
    BERTH_CHECK(mount_one(path::join(m.destination, name), h, hostdir, flags));
  }
  (void)layout;
  if (flags & MS_RDONLY) {
    UniqueFd top = BERTH_TRY(sys::open_in_root(rootfd, m.destination));
    BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr,
                         MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755",
                         what));
  }
  return {};
}

Result<void> apply_mount(const RootfsContext& ctx, int rootfd, const PlannedMount& m) {
  std::string what = fmt::format("{} on {}", m.type.empty() ? "bind" : m.type, m.destination);
  if (m.kind == MountKind::kBind) return mount_bind(rootfd, m, bind_source(ctx, m.source), what);
  if (m.kind == MountKind::kCgroup) return mount_cgroup(ctx, rootfd, m, what);
  UniqueFd target = BERTH_TRY(sys::open_in_root(rootfd, m.destination, sys::Create::kDir));
  std::string tp = fd_path(target.get());
  unsigned long flags = m.opts.flags & ~(MS_BIND | MS_REC);
  std::string src = m.source.empty() ? m.type : m.source;
  Result<void> r = do_mount(src, tp, m.type.c_str(), flags, m.opts.data, what);
  if (!r) {
    int e = r.error().sys_errno();
    if (m.kind == MountKind::kSysfs && (e == EPERM || e == EACCES)) {
      // A user namespace without its own network namespace cannot mount sysfs: bind the host's.
      PlannedMount b = m;
      b.opts.recursive = true;
      b.kind = MountKind::kBind;
      b.opts.flags |= MS_BIND | MS_REC;
      return mount_bind(rootfd, b, "/sys", what);
    } else if (m.kind == MountKind::kMqueue && (e == EPERM || e == EACCES)) {
      PlannedMount b = m;
      b.kind = MountKind::kBind;
      b.opts.flags |= MS_BIND;
      return mount_bind(rootfd, b, "/dev/mqueue", what);
    } else if (m.kind == MountKind::kDevpts && e == EINVAL &&
               m.opts.data.find("gid=") != std::string::npos) {
      // gid=5 is not mapped in this user namespace: mount without it.
      std::string data;
      for (const std::string& o : split(m.opts.data, ','))
        if (o.rfind("gid=", 0) != 0) data += (data.empty() ? "" : ",") + o;
      r = do_mount(src, tp, m.type.c_str(), flags, data, what);
    }
    if (!r) return r;
  }
  if (m.opts.tmpcopyup) {
    UniqueFd top = BERTH_TRY(sys::open_in_root(rootfd, m.destination));
    UniqueFd dst(::openat(top.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst) return fail(sys_error(errno, "{}: open", what));
    BERTH_CHECK_CTX(copy_tree(target.get(), dst.get()), "{}: tmpcopyup", what);
  }
  if (m.opts.propagation || m.opts.attr_set || m.opts.attr_clr) {
    UniqueFd top = BERTH_TRY(sys::open_in_root(rootfd, m.destination));
    if (m.opts.propagation)
      BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr, m.opts.propagation, "", what));
    BERTH_CHECK(set_recursive_attrs(top.get(), m.opts, what));
  }
  return {};
}

// pivot_root refuses a new root whose parent mount is shared: make that parent private.
Result<void> make_parent_private(const std::string& rootfs) {
  std::string mi = BERTH_TRY(file::read("/proc/self/mountinfo"));
  std::string best;
  bool shared = false;
  for (const std::string& line : split(mi, '\n')) {
    std::vector<std::string> f = split(line, ' ');
    if (f.size() < 7) continue;
    const std::string& mp = f[4];
    if (!path::is_within(mp, rootfs) || mp.size() < best.size()) continue;
    best = mp;
    shared = false;
    for (size_t i = 6; i < f.size() && f[i] != "-"; ++i)
      if (f[i].rfind("shared:", 0) == 0) shared = true;
  }
  if (shared && !best.empty()) {
    if (::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
      return fail(sys_error(errno, "make {} private", best));
  }
  return {};
}

bool has_dev_bind(const std::vector<PlannedMount>& plan) {
  for (const auto& m : plan)
    if (m.destination == "/dev" && m.kind == MountKind::kBind) return true;
  return false;
}

}  // namespace

Result<UniqueFd> prepare_rootfs(const RootfsContext& ctx, const std::vector<PlannedMount>& plan) {
  const std::string& prop = ctx.spec->linux.rootfs_propagation;
  unsigned long pflags = root_propagation_flags(prop);
  if (::mount(nullptr, "/", nullptr, pflags, nullptr) != 0)
    return fail(sys_error(errno, "linux.rootfsPropagation: set propagation of /"));
  // After a recursive slave or private change no mount is shared: nothing to look up.
  bool none_shared = (pflags & MS_REC) && (pflags & (MS_SLAVE | MS_PRIVATE));
  if (!none_shared) BERTH_CHECK(make_parent_private(ctx.rootfs));
  if (::mount(ctx.rootfs.c_str(), ctx.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail(sys_error(errno, "bind mount rootfs {}", ctx.rootfs));
  UniqueFd rootfd(::open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return fail(sys_error(errno, "open rootfs {}", ctx.rootfs));
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].kind == MountKind::kCgroup && ctx.join_cgroup) BERTH_CHECK(ctx.join_cgroup());
    BERTH_CHECK_CTX(apply_mount(ctx, rootfd.get(), plan[i]), "mounts[{}]", i);
  }
  // Before mknod: the devices cgroup's rules apply to it.
  if (ctx.join_cgroup) BERTH_CHECK(ctx.join_cgroup());
  if (!has_dev_bind(plan)) BERTH_CHECK(create_devices(rootfd.get(), *ctx.spec, ctx.userns));
  return rootfd;
}

Result<void> enter_rootfs(const RootfsContext& ctx, int rootfd) {
  if (::fchdir(rootfd) != 0) return fail(sys_error(errno, "chdir to rootfs"));
  if (ctx.no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
      return fail(sys_error(errno, "move rootfs to / (--no-pivot)"));
    if (::chroot(".") != 0) return fail(sys_error(errno, "chroot into rootfs"));
  } else {
    UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldroot) return fail(sys_error(errno, "open /"));
    if (sys::pivot_root(".", ".") != 0) return fail(sys_error(errno, "pivot_root"));
    // The old root is now stacked on the new one. Work on it through its own fd (what "."
    // means after pivot_root is not promised): make it rslave so our unmount does not
    // propagate to the host, then detach it.
    if (::fchdir(oldroot.get()) != 0) return fail(sys_error(errno, "chdir to the old root"));
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
      return fail(sys_error(errno, "make old root rslave"));
    if (::umount2(".", MNT_DETACH) != 0) return fail(sys_error(errno, "unmount old root"));
  }
  if (::chdir("/") != 0) return fail(sys_error(errno, "chdir /"));
  return {};
}

Result<void> finish_rootfs(const RootfsContext& ctx) {
  const oci::Spec& s = *ctx.spec;
  for (const auto& [key, value] : s.linux.sysctl) {
    std::string p = "/proc/sys/" + key;
    for (size_t i = 10; i < p.size(); ++i)
      if (p[i] == '.') p[i] = '/';
    BERTH_CHECK_CTX(file::write(p, value), "linux.sysctl {}", key);
  }
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail(sys_error(errno, "open /"));
  for (const std::string& p : s.linux.masked_paths) {
    auto fd = sys::open_in_root(root.get(), p);
    if (!fd) {
      if (fd.error().sys_errno() == ENOENT) continue;
      return fail(std::move(fd.error()).wrap(fmt::format("linux.maskedPaths {}", p)));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail(sys_error(errno, "linux.maskedPaths {}", p));
    if (S_ISDIR(st.st_mode)) {
      BERTH_CHECK(
          do_mount("tmpfs", fd_path(fd->get()), "tmpfs", MS_RDONLY, "", "linux.maskedPaths " + p));
    } else {
      BERTH_CHECK(do_mount("/dev/null", fd_path(fd->get()), nullptr, MS_BIND, "",
                           "linux.maskedPaths " + p));
    }
  }
  for (const std::string& p : s.linux.readonly_paths) {
    auto fd = sys::open_in_root(root.get(), p);
    if (!fd) {
      if (fd.error().sys_errno() == ENOENT) continue;
      return fail(std::move(fd.error()).wrap(fmt::format("linux.readonlyPaths {}", p)));
    }
    std::string what = "linux.readonlyPaths " + p;
    BERTH_CHECK(
        do_mount(fd_path(fd->get()), fd_path(fd->get()), nullptr, MS_BIND | MS_REC, "", what));
    UniqueFd top = BERTH_TRY(sys::open_in_root(root.get(), p));
    BERTH_CHECK(do_mount("", fd_path(top.get()), nullptr,
                         MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                             kept_flags(top.get(), 0),
                         "", what));
  }
  if (s.root.readonly) {
    if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(root.get(), 0),
                nullptr) != 0)
      return fail(sys_error(errno, "root.readonly: remount / read-only"));
  }
  if (!s.linux.rootfs_propagation.empty()) {
    unsigned long f = root_propagation_flags(s.linux.rootfs_propagation);
    if (::mount(nullptr, "/", nullptr, f, nullptr) != 0)
      return fail(sys_error(errno, "linux.rootfsPropagation {}", s.linux.rootfs_propagation));
  }
  return {};
}

}  // namespace berth::runtime
