// Network namespaces pinned on a file by a bind mount, so that a container's network can be
// set up before (and in parallel with) its processes.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "base/file.h"
#include "base/path.h"
#include "net/network.h"

namespace berth::net {

Result<void> create_netns(const std::string& path) {
  BERTH_CHECK(file::mkdir_all(path::dirname(path), 0700));
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!f) {
    if (errno == EEXIST)
      return fail(make_error(ErrorKind::kAlreadyExists, "network namespace {} exists", path));
    return fail(sys_error(errno, "create {}", path));
  }
  f.reset();
  // unshare() in a helper thread: only that thread moves to the new namespace.
  Result<void> out;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      out = fail(sys_error(errno, "unshare network namespace"));
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      out = fail(sys_error(errno, "pin network namespace on {}", path));
  });
  t.join();
  if (!out) ::unlink(path.c_str());
  return out;
}

Result<void> remove_netns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return fail(sys_error(errno, "unmount {}", path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "remove {}", path));
  return {};
}

Result<std::vector<std::string>> gc_netns(const std::string& dir, const IsLive& is_live) {
  if (!is_live) return fail(invalid("gc_netns needs the engine's view of live containers"));
  std::vector<std::string> removed;
  DIR* d = opendir(dir.c_str());
  if (!d) return removed;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  closedir(d);
  for (const auto& n : names) {
    if (is_live && is_live(n)) continue;
    BERTH_CHECK(remove_netns(dir + "/" + n));
    removed.push_back(dir + "/" + n);
  }
  return removed;
}

}  // namespace berth::net
