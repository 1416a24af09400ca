#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "base/path.h"

namespace berth::file {
namespace {

Result<std::string> read_fd(int fd, const std::string& what) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error(errno, "read {}", what));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<void> write_fd(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error(errno, "write {}", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<std::string> read(const std::string& path) { return read_at(AT_FDCWD, path); }

Result<std::string> read_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    Error err = sys_error(e, "open {}", name);
    if (e == ENOENT) err = Error(ErrorKind::kNotFound, fmt::format("open {}", name), e);
    return fail(std::move(err));
  }
  return read_fd(fd.get(), name);
}

Result<void> write(const std::string& path, std::string_view data) {
  return write_at(AT_FDCWD, path, data);
}

Result<void> write_at(int dirfd, const std::string& name, std::string_view data) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
  if (!fd) return fail(sys_error(errno, "open {}", name));
  return write_fd(fd.get(), data, name);
}

Result<void> write_atomic(int dirfd, const std::string& name, std::string_view data, mode_t mode,
                          bool sync) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = fmt::format(".{}.tmp-{}-{}", path::basename(name), getpid(), counter++);
  std::string dir = path::dirname(name);
  if (name.find('/') != std::string::npos) tmp = path::join(dir, tmp);
  UniqueFd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return fail(sys_error(errno, "create {}", tmp));
  auto cleanup = [&] { ::unlinkat(dirfd, tmp.c_str(), 0); };
  if (auto r = write_fd(fd.get(), data, tmp); !r) {
    cleanup();
    return r;
  }
  if (::fchmod(fd.get(), mode) != 0 || (sync && ::fsync(fd.get()) != 0)) {
    int e = errno;
    cleanup();
    return fail(sys_error(e, "sync {}", tmp));
  }
  fd.reset();
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int e = errno;
    cleanup();
    return fail(sys_error(e, "rename {} to {}", tmp, name));
  }
  return {};
}

Result<void> write_atomic(const std::string& path, std::string_view data, mode_t mode, bool sync) {
  return write_atomic(AT_FDCWD, path, data, mode, sync);
}

Result<void> mkdir_all(const std::string& p, mode_t mode) {
  std::string c = path::clean(p);
  if (::mkdir(c.c_str(), mode) == 0) return {};
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(c.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return fail(sys_error(ENOTDIR, "mkdir {}", c));
  }
  if (errno != ENOENT) return fail(sys_error(errno, "mkdir {}", c));
  std::string parent = path::dirname(c);
  if (parent == c) return fail(sys_error(ENOENT, "mkdir {}", c));
  BERTH_CHECK(mkdir_all(parent, mode));
  if (::mkdir(c.c_str(), mode) != 0 && errno != EEXIST)
    return fail(sys_error(errno, "mkdir {}", c));
  return {};
}

namespace {

Result<void> remove_in(int dirfd, const char* name, dev_t dev) {
  struct stat st {};
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return fail(sys_error(errno, "stat {}", name));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
      return fail(sys_error(errno, "unlink {}", name));
    return {};
  }
  if (st.st_dev != dev) return fail(sys_error(EBUSY, "remove {} (a mount point)", name));
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open {}", name));
  DIR* d = ::fdopendir(fd.get());
  if (!d) return fail(sys_error(errno, "opendir {}", name));
  int dfd = fd.release();
  Result<void> res;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (auto r = remove_in(dfd, e->d_name, dev); !r) {
      res = std::move(r);
      break;
    }
  }
  ::closedir(d);
  if (!res) return res;
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "rmdir {}", name));
  return {};
}

}  // namespace

Result<void> remove_all(const std::string& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(sys_error(errno, "stat {}", p));
  }
  return remove_in(AT_FDCWD, p.c_str(), st.st_dev);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) {
    int e = errno;
    if (e == ENOENT) return fail(Error(ErrorKind::kNotFound, fmt::format("open {}", path), e));
    return fail(sys_error(e, "open {}", path));
  }
  return fd;
}

}  // namespace berth::file
