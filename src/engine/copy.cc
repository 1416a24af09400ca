#include "engine/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace berth::engine {

Result<void> copy_entry(int src_dir, const std::string& src_name, int dst_dir,
                        const std::string& dst_name) {
  struct stat st {};
  if (::fstatat(src_dir, src_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(sys_error(errno, "stat {}", src_name));
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst_dir, dst_name.c_str(), st.st_mode & 07777) != 0 && errno != EEXIST)
      return fail(sys_error(errno, "mkdir {}", dst_name));
    UniqueFd s(
        ::openat(src_dir, src_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd d(
        ::openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return fail(sys_error(errno, "open {}", src_name));
    if (!d) return fail(sys_error(errno, "open {}", dst_name));
    BERTH_CHECK(copy_dir_contents(s.get(), d.get()));
    (void)::fchown(d.get(), st.st_uid, st.st_gid);
    (void)::fchmod(d.get(), st.st_mode & 07777);
    return {};
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd s(::openat(src_dir, src_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return fail(sys_error(errno, "open {}", src_name));
    UniqueFd d(::openat(dst_dir, dst_name.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777));
    if (!d) return fail(sys_error(errno, "create {}", dst_name));
    char buf[65536];
    ssize_t n;
    while ((n = ::read(s.get(), buf, sizeof buf)) > 0)
      if (::write(d.get(), buf, static_cast<size_t>(n)) != n)
        return fail(sys_error(errno, "write {}", dst_name));
    if (n < 0) return fail(sys_error(errno, "read {}", src_name));
    (void)::fchown(d.get(), st.st_uid, st.st_gid);
    (void)::fchmod(d.get(), st.st_mode & 07777);
    timespec times[2] = {st.st_atim, st.st_mtim};
    (void)::futimens(d.get(), times);
    return {};
  }
  if (S_ISLNK(st.st_mode)) {
    char t[4096];
    ssize_t n = ::readlinkat(src_dir, src_name.c_str(), t, sizeof t - 1);
    if (n < 0) return fail(sys_error(errno, "readlink {}", src_name));
    t[n] = 0;
    ::unlinkat(dst_dir, dst_name.c_str(), 0);
    if (::symlinkat(t, dst_dir, dst_name.c_str()) != 0)
      return fail(sys_error(errno, "symlink {}", dst_name));
    (void)::fchownat(dst_dir, dst_name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    return {};
  }
  return {};  // devices, fifos and sockets are not copied
}

Result<void> copy_dir_contents(int src, int dst) {
  UniqueFd dup(::openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dup) return fail(sys_error(errno, "open directory"));
  DIR* d = ::fdopendir(dup.release());
  if (!d) return fail(sys_error(errno, "read directory"));
  Result<void> res;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (auto r = copy_entry(::dirfd(d), n, dst, n); !r) {
      res = std::move(r);
      break;
    }
  }
  ::closedir(d);
  return res;
}

namespace {

int64_t size_at(int dirfd, dev_t dev) {
  UniqueFd dup(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = dup ? ::fdopendir(dup.release()) : nullptr;
  if (!d) return 0;
  int64_t total = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev)
      continue;
    if (S_ISREG(st.st_mode)) total += st.st_size;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(
          ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) total += size_at(sub.get(), dev);
    }
  }
  ::closedir(d);
  return total;
}

}  // namespace

int64_t tree_size(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return st.st_size;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd ? size_at(fd.get(), st.st_dev) : 0;
}

}  // namespace berth::engine
