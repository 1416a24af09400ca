#include "sys/in_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "base/strings.h"
#include "sys/syscalls.h"

namespace berth::sys {
namespace {

constexpr int kMaxSymlinks = 40;

void push_front_components(std::deque<std::string>& q, std::string_view p) {
  std::vector<std::string> parts = split(p, '/');
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!it->empty() && *it != ".") q.push_front(*it);
  }
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<UniqueFd> open_in_root_walk(int rootfd, std::string_view path, Create create) {
  std::deque<std::string> todo;
  push_front_components(todo, path);
  // The directories walked so far; ".." pops one and never goes above the root.
  std::vector<UniqueFd> stack;
  UniqueFd cur(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
  if (!cur) return fail(sys_error(errno, "dup root fd"));
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == "..") {
      if (!stack.empty()) {
        cur = std::move(stack.back());
        stack.pop_back();
      }
      continue;
    }
    bool last = todo.empty();
    UniqueFd next(::openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next && errno == ENOENT && create != Create::kNone) {
      if (!last || create == Create::kDir) {
        if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST)
          return fail(sys_error(errno, "mkdir {}", comp));
      } else {
        // An O_PATH fd cannot create, so reopen the parent for real.
        UniqueFd dir(::openat(cur.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) return fail(sys_error(errno, "open parent of {}", comp));
        UniqueFd f(::openat(dir.get(), comp.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f && errno != EEXIST) return fail(sys_error(errno, "create {}", comp));
      }
      next.reset(::openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    }
    if (!next) return fail(sys_error(errno, "open {}", comp));
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return fail(sys_error(errno, "stat {}", comp));
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return fail(sys_error(ELOOP, "resolve {}", path));
      char buf[4096];
      ssize_t n = ::readlinkat(next.get(), "", buf, sizeof buf - 1);
      if (n < 0) return fail(sys_error(errno, "readlink {}", comp));
      std::string_view target(buf, static_cast<size_t>(n));
      if (!target.empty() && target.front() == '/') {
        // Absolute link: restart from the root.
        stack.clear();
        cur.reset(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
        if (!cur) return fail(sys_error(errno, "dup root fd"));
      }
      push_front_components(todo, target);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return fail(sys_error(ENOTDIR, "open {}", comp));
    stack.push_back(std::move(cur));
    cur = std::move(next);
  }
  return cur;
}

namespace {

int openat2_in_root(int rootfd, const std::string& rel) {
  return sys::openat2(rootfd, rel.c_str(), O_PATH | O_CLOEXEC,
                      kResolveInRoot | kResolveNoMagiclinks);
}

// A missing last component whose parent exists (most mount targets: /dev/pts, the cgroup
// directories, /etc/hosts): made in the parent that openat2 resolved, then the whole path
// resolved again, in 4 system calls instead of a walk of ~4 per component. -1 otherwise.
int create_leaf(int rootfd, const std::string& rel, Create create) {
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (leaf.empty() || leaf == "." || leaf == "..") return -1;
  UniqueFd dir(openat2_in_root(rootfd, parent));
  if (!dir) return -1;
  int made = create == Create::kDir ? ::mkdirat(dir.get(), leaf.c_str(), 0755)
                                    : ::mknodat(dir.get(), leaf.c_str(), S_IFREG | 0644, 0);
  if (made != 0 && errno != EEXIST) return -1;
  return openat2_in_root(rootfd, rel);
}

}  // namespace

Result<UniqueFd> open_in_root(int rootfd, std::string_view path, Create create) {
  std::string rel(path);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  int fd = openat2_in_root(rootfd, rel);
  if (fd >= 0) return UniqueFd(fd);
  int e = errno;
  if (e == ENOENT && create != Create::kNone) {
    fd = create_leaf(rootfd, rel, create);
    if (fd >= 0) return UniqueFd(fd);
  }
  if (e == ENOSYS || (e == ENOENT && create != Create::kNone) || e == EAGAIN || e == EXDEV) {
    return open_in_root_walk(rootfd, path, create);
  }
  return fail(sys_error(e, "open {}", path));
}

}  // namespace berth::sys
