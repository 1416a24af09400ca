#include "cgroup/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"

namespace berth::cgroup::fs {

std::string Dir::file(std::string_view name) const {
  return rel.empty() ? std::string(name) : rel + "/" + std::string(name);
}

Result<Dir> open_dir(const std::string& mount_point, std::string_view cgroup_path,
                     std::string_view mount_root) {
  Dir d;
  d.root.reset(::open(mount_point.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!d.root) return fail(sys_error(errno, "open cgroup hierarchy {}", mount_point));
  std::string p = path::clean(cgroup_path);
  std::string mr = path::clean(mount_root.empty() ? "/" : mount_root);
  // The hierarchy may be mounted from below its root (inside a container): strip that part.
  if (mr != "/" && path::is_within(mr, p)) p = p.substr(mr.size());
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p == ".") p.clear();
  if (p.find("..") != std::string::npos && path::clean(p) != p)
    return fail(invalid("cgroup path {:?} leaves its hierarchy", cgroup_path));
  d.rel = p;
  d.abs = p.empty() ? mount_point : path::join(mount_point, p);
  return d;
}

bool has_file(const Dir& d, std::string_view name) {
  return ::faccessat(d.root.get(), d.file(name).c_str(), F_OK, 0) == 0;
}

Result<void> write(const Dir& d, std::string_view name, std::string_view value) {
  std::string f = d.file(name);
  UniqueFd fd(::openat(d.root.get(), f.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
  if (!fd) return fail(sys_error(errno, "open {}/{}", d.abs, name));
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return fail(sys_error(errno, "write {:?} to {}/{}", value, d.abs, name));
  return {};
}

Result<std::string> read(const Dir& d, std::string_view name) {
  auto r = file::read_at(d.root.get(), d.file(name));
  if (!r) return fail(std::move(r.error()).wrap(d.abs));
  return r;
}

Result<void> make(const Dir& d, const std::function<Result<void>(const std::string&)>& made) {
  if (d.rel.empty()) return {};
  // The common case first: the parents exist (one mkdir per hierarchy instead of one per
  // path component).
  if (::mkdirat(d.root.get(), d.rel.c_str(), 0755) == 0) return made(d.rel);
  if (errno == EEXIST) return {};
  if (errno != ENOENT) return fail(sys_error(errno, "mkdir cgroup {}", d.rel));
  // A concurrent destroy may remove an empty parent between our mkdirs (ENOENT): start over.
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::string cur;
    bool retry = false;
    for (const std::string& part : split(d.rel, '/')) {
      if (part.empty()) continue;
      cur = cur.empty() ? part : cur + "/" + part;
      if (::mkdirat(d.root.get(), cur.c_str(), 0755) == 0) {
        BERTH_CHECK(made(cur));
        continue;
      }
      if (errno == EEXIST) continue;
      if (errno == ENOENT) {
        retry = true;
        break;
      }
      return fail(sys_error(errno, "mkdir cgroup {}", cur));
    }
    if (!retry) return {};
  }
  return fail(sys_error(ENOENT, "mkdir cgroup {}", d.abs));
}

Result<void> remove(const Dir& d) {
  if (d.rel.empty()) return {};
  for (int i = 0; i < 200; ++i) {
    if (::unlinkat(d.root.get(), d.rel.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY) return fail(sys_error(errno, "remove cgroup {}", d.abs));
    timespec ts{0, 5 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return fail(sys_error(EBUSY, "remove cgroup {}", d.abs));
}

Result<std::vector<pid_t>> read_pids(const Dir& d, std::string_view f) {
  std::string text = BERTH_TRY(read(d, f));
  std::vector<pid_t> out;
  for (const std::string& l : split(text, '\n')) {
    if (auto v = parse_int(trim(l))) out.push_back(static_cast<pid_t>(*v));
  }
  return out;
}

}  // namespace berth::cgroup::fs
