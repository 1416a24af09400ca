// /dev inside the container: the default devices of config-linux.md, linux.devices, and the
// standard links.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/path.h"
#include "runtime/rootfs.h"
#include "sys/in_root.h"

namespace berth::runtime {
namespace {

Result<void> make_device(int rootfd, const oci::Device& d, bool userns) {
  std::string parent = path::dirname(d.path);
  std::string name = path::basename(d.path);
  UniqueFd dir = BERTH_TRY(sys::open_in_root(rootfd, parent, sys::Create::kDir));
  mode_t type = d.type == 'b' ? S_IFBLK : (d.type == 'p' ? S_IFIFO : S_IFCHR);
  mode_t perm = d.file_mode ? (*d.file_mode & 07777) : 0666;
  if (!userns || d.type == 'p') {
    ::unlinkat(dir.get(), name.c_str(), 0);
    if (::mknodat(dir.get(), name.c_str(), type | perm,
                  makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) == 0) {
      // mknod applies the umask; set the mode and owner as asked.
      if (::fchmodat(dir.get(), name.c_str(), perm, 0) != 0 ||
          ::fchownat(dir.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                     AT_SYMLINK_NOFOLLOW) != 0)
        return fail(sys_error(errno, "linux.devices: set mode and owner of {}", d.path));
      return {};
    }
    if (errno != EPERM) return fail(sys_error(errno, "linux.devices: mknod {}", d.path));
  }
  // In a user namespace mknod is not allowed: bind the host's node over an empty file.
  UniqueFd target = BERTH_TRY(sys::open_in_root(rootfd, d.path, sys::Create::kFile));
  if (::mount(d.path.c_str(), sys::fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0)
    return fail(sys_error(errno, "linux.devices: bind {} from the host", d.path));
  return {};
}

}  // namespace

Result<void> create_devices(int rootfd, const oci::Spec& spec, bool userns) {
  static const struct {
    const char* path;
    int major, minor;
  } kDefaults[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                   {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  for (const auto& d : kDefaults) {
    bool overridden = false;
    for (const auto& c : spec.linux.devices)
      if (path::clean(c.path) == d.path) overridden = true;
    if (overridden) continue;
    oci::Device dev;
    dev.path = d.path;
    dev.type = 'c';
    dev.major = d.major;
    dev.minor = d.minor;
    dev.file_mode = 0666;
    BERTH_CHECK(make_device(rootfd, dev, userns));
  }
  for (const auto& d : spec.linux.devices) {
    oci::Device dev = d;
    dev.path = path::clean(d.path);
    BERTH_CHECK(make_device(rootfd, dev, userns));
  }
  UniqueFd dev = BERTH_TRY(sys::open_in_root(rootfd, "/dev", sys::Create::kDir));
  static const struct {
    const char* target;
    const char* name;
  } kLinks[] = {{"/proc/self/fd", "fd"},
                {"/proc/self/fd/0", "stdin"},
                {"/proc/self/fd/1", "stdout"},
                {"/proc/self/fd/2", "stderr"},
                {"pts/ptmx", "ptmx"}};
  for (const auto& l : kLinks) {
    if (std::string_view(l.name) == "ptmx") ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat(l.target, dev.get(), l.name) != 0 && errno != EEXIST)
      return fail(sys_error(errno, "symlink /dev/{}", l.name));
  }
  if (::access("/proc/kcore", F_OK) == 0) (void)::symlinkat("/proc/kcore", dev.get(), "core");
  return {};
}

}  // namespace berth::runtime
