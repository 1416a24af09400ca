// Snapshots: a container's root file system, an overlayfs mount of the image's layers plus a
// private upper directory; or, where overlayfs cannot be used, a copy of the layers.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "base/trace.h"
#include "image/fs_util.h"
#include "image/overlay_plan.h"
#include "image/store.h"
#include "sys/in_root.h"

namespace berth::image {
namespace {

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 128 || k[0] == '.') return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

std::string_view mode_name(SnapshotMode m) { return m == SnapshotMode::kCopy ? "copy" : "overlay"; }

// Mounts with the new mount API, one fsconfig per parameter. A kernel without "lowerdir+"
// (before 6.8) refuses the first one with EINVAL: kUnavailable then.
Result<void> mount_fsconfig(const OverlayPlan& plan, const std::string& target) {
  UniqueFd fs(fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) return fail(sys_error(errno, "fsopen overlay"));
  for (const auto& [k, v] : plan.params)
    if ((v.empty() ? fsconfig(fs.get(), FSCONFIG_SET_FLAG, k.c_str(), nullptr, 0)
                   : fsconfig(fs.get(), FSCONFIG_SET_STRING, k.c_str(), v.c_str(), 0)) != 0) {
      if (errno == EINVAL && k == "lowerdir+")
        return fail(make_error(ErrorKind::kUnavailable, "overlay: no lowerdir+ on this kernel"));
      return fail(sys_error(errno, "overlay option {}={}", k, v));
    }
  if (fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail(sys_error(errno, "create overlay"));
  UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return fail(sys_error(errno, "fsmount overlay"));
  if (move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail(sys_error(errno, "move_mount overlay to {}", target));
  return {};
}

// Whether this kernel takes "lowerdir+" (Linux 6.8+): assumed until a mount finds it does
// not. (Not asked with a throwaway fs context: releasing an overlay context waits for an
// expedited RCU grace period, ~0.1-1 ms of every `berth run` here.)
std::atomic<bool> g_lowerdir_append{true};

// The bottom layer of a container's snapshot: the mount points the runtime mounts on (/proc,
// /dev, /sys) and the targets of the files the engine binds in (/etc/hosts, /etc/hostname,
// /etc/resolv.conf, empty), as Docker's init layer has. An image that has them wins (it is
// above); one that has not then needs no new directories or files in the container's upper
// layer and no copy-up of /etc, which on this store's file system cost an inode each to make
// and a synchronous discard per freed block at removal (~1.5 ms per `run --rm` for an image
// without /proc, /dev and /sys). A real directory among the short links (garbage collection
// leaves directories there alone), made once per store: in a staging dir, then renamed.
Result<OverlayLayer> init_layer(const Store& s) {
  OverlayLayer l{s.root() + "/l/berth-init", "berth-init"};
  struct stat st {};
  if (::lstat(l.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return l;
  static std::atomic<uint64_t> counter{0};
  // Staging names in tmp/ start with the pid (Store::clean_stale_tmp).
  std::string tmp = fmt::format("{}/tmp/{}-berth-init-{}", s.root(), getpid(), counter++);
  auto made = [&]() -> Result<void> {
    for (const char* d : {"/etc", "/proc", "/dev", "/sys"})
      BERTH_CHECK(file::mkdir_all(tmp + d, 0755));
    for (const char* f : {"hosts", "hostname", "resolv.conf"})
      BERTH_CHECK(file::write_atomic(tmp + "/etc/" + f, "", 0644, false));
    return {};
  }();
  if (made && ::rename(tmp.c_str(), l.path.c_str()) == 0) return l;
  int err = made ? errno : 0;
  (void)file::remove_all(tmp);
  if (!made) return fail(std::move(made.error()).wrap("make the init layer"));
  // Another process made it first.
  if ((err == EEXIST || err == ENOTEMPTY) && ::lstat(l.path.c_str(), &st) == 0 &&
      S_ISDIR(st.st_mode))
    return l;
  return fail(sys_error(err, "rename the init layer to {}", l.path));
}

// A snapshot's directory with its upper, work and rootfs directories (kept ones are fine).
Result<void> make_snapshot_dirs(const std::string& dir) {
  for (const char* sub : {"", "/upper", "/work", "/rootfs"})
    if (mkdir((dir + sub).c_str(), 0755) != 0 && errno != EEXIST)
      return fail(sys_error(errno, "mkdir {}{}", dir, sub));
  return {};
}

Result<void> mount_overlay(Store& s, const ImageRecord& img, const std::string& dir,
                           const OverlayWants& wants, bool container_files) {
  std::vector<OverlayLayer> layers;
  for (const auto& l : img.layers) {
    auto link =
        BERTH_TRY(s.db().scalar("SELECT link FROM layers WHERE diff_id=?1", {l.diff_id.str()}));
    if (!link)
      return fail(
          make_error(ErrorKind::kFailedPrecondition, "layer {} is not unpacked", l.diff_id.str()));
    layers.push_back({s.layer_path(l.diff_id), *link});
  }
  UniqueFd rootfd(::open(s.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return fail(sys_error(errno, "open {}", s.root()));
  OverlayCaps caps;
  caps.page_size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  caps.root_fd_path = sys::fd_path(rootfd.get());
  caps.lowerdir_append = !layers.empty() && g_lowerdir_append;
  if (layers.empty()) {
    // An image with no layers: an empty lower directory stands in.
    std::string empty = s.root() + "/l/empty";
    (void)file::mkdir_all(empty, 0755);
    layers.push_back({empty, "empty"});
  }
  if (container_files) layers.insert(layers.begin(), BERTH_TRY(init_layer(s)));
  OverlayPlan plan = BERTH_TRY(plan_overlay(layers, dir + "/upper", dir + "/work", caps, wants));
  std::string target = dir + "/rootfs";
  if (plan.form == OverlayPlan::Form::kAppend) {
    auto m = mount_fsconfig(plan, target);
    if (m || m.error().kind() != ErrorKind::kUnavailable) return m;
    g_lowerdir_append = false;
    caps.lowerdir_append = false;
    plan = BERTH_TRY(plan_overlay(layers, dir + "/upper", dir + "/work", caps, wants));
  }
  if (mount("overlay", target.c_str(), "overlay", 0, plan.data.c_str()) != 0)
    return fail(sys_error(errno, "mount overlay on {}", target));
  return {};
}

// Spare snapshot trees (fs_util.h, spare directories): a `run --rm` then makes and removes
// four directories fewer on the store's file system. Only a tree whose overlay was unmounted
// cleanly (not busy: no copy of the mount, no process still in it) is parked.
constexpr size_t kMaxSpares = 8;

// The snapshot trash (snapshots/.trash): overlayfs's own work directory of an unmounted
// snapshot (work/work, and after a `volatile` mount work/work/incompat/volatile) is moved
// here instead of being deleted, and Store::empty_trash() deletes it later. overlayfs makes
// these directories afresh at every mount, so each one is a block freed per container, and
// on a file system mounted with -o discard and no journal (this project's reference VM) ext4
// discards each freed block synchronously: ~0.35 ms each, ~1 ms of every `run --rm` after
// the container ended. `run` empties the trash while its container runs (engine.cc); `rm`
// and the prunes empty it before they return.
constexpr const char* kTrash = ".trash";

// Moves parent/name into the trash under a name no other process picks. False when it could
// not (the caller deletes it then).
bool move_to_trash(int parent, const char* name, int snapshots) {
  static std::atomic<unsigned> seq{0};
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::string to = fmt::format("{}/{}-{}-{}{:09}", kTrash, getpid(), seq++, ts.tv_sec, ts.tv_nsec);
  if (renameat(parent, name, snapshots, to.c_str()) == 0) return true;
  if (errno != ENOENT || mkdirat(snapshots, kTrash, 0700) != 0) return false;
  return renameat(parent, name, snapshots, to.c_str()) == 0;
}

// Makes an unmounted snapshot's tree what mkdir made: upper/ and work/ empty, upper/'s own
// mode, owner and extended attributes (overlayfs marks it "impure"; the container may have
// changed them through its /) reset, rootfs/ an empty directory. overlayfs's work/work goes
// to the trash (snapshots is the snapshots directory).
Result<void> scrub(int dirfd, int snapshots) {
  UniqueFd upper = BERTH_TRY(open_dir_at(dirfd, "upper"));
  BERTH_CHECK(remove_children(upper.get()));
  char names[4096];
  ssize_t n = flistxattr(upper.get(), names, sizeof names);
  if (n < 0) return fail(sys_error(errno, "list the attributes of upper"));
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1)
    if (fremovexattr(upper.get(), names + i) != 0)
      return fail(sys_error(errno, "remove attribute {} of upper", names + i));
  if (fchown(upper.get(), 0, 0) != 0 || fchmod(upper.get(), 0755) != 0)
    return fail(sys_error(errno, "reset upper"));
  UniqueFd work = BERTH_TRY(open_dir_at(dirfd, "work"));
  (void)move_to_trash(work.get(), "work", snapshots);  // what it cannot move is deleted next
  BERTH_CHECK(remove_children(work.get()));
  UniqueFd rootfs = BERTH_TRY(open_dir_at(dirfd, "rootfs"));
  if (!BERTH_TRY(names_at(rootfs.get())).empty())
    return fail(make_error(ErrorKind::kFailedPrecondition, "rootfs is not empty"));
  return {};
}

Result<void> copy_layers(Store& s, const ImageRecord& img, const std::string& rootfs) {
  UniqueFd dst = BERTH_TRY(open_dir_at(AT_FDCWD, rootfs));
  for (const auto& l : img.layers) {
    UniqueFd src = BERTH_TRY(open_dir_at(AT_FDCWD, s.layer_path(l.diff_id)));
    BERTH_CHECK_CTX(copy_tree(src.get(), dst.get(), true), "copy layer {}", l.diff_id.short_id());
  }
  return {};
}

}  // namespace

Result<Snapshot> Store::prepare_snapshot(const ImageRecord& img, std::string_view key,
                                         const SnapshotOptions& opts) {
  SnapshotMode mode = opts.mode;
  if (!valid_key(key))
    return fail(invalid("snapshot key {:?}: letters, digits, '-', '_' and '.' only", key));
  StoreLock held = BERTH_TRY(lock(false));
  std::string k(key);
  // Recorded first: from now on garbage collection keeps the image's layers.
  auto ins = db_.run(
      "INSERT INTO snapshots(key, manifest, mode, created) VALUES(?1,?2,?3,?4)",
      {k, img.manifest.str(), std::string(mode_name(mode)), static_cast<int64_t>(time(nullptr))});
  if (!ins && ins.error().kind() == ErrorKind::kAlreadyExists)
    return fail(make_error(ErrorKind::kAlreadyExists, "snapshot {:?} exists already", k));
  if (!ins) return fail(std::move(ins.error()).wrap(fmt::format("record snapshot {}", k)));
  std::string dir = root_ + "/snapshots/" + k;
  Snapshot snap{k, dir + "/rootfs", mode};
  auto made = [&]() -> Result<void> {
    UniqueFd snaps = BERTH_TRY(open_dir_at(AT_FDCWD, root_ + "/snapshots"));
    if (mode == SnapshotMode::kCopy || !take_spare_dir(snaps.get(), k))
      BERTH_CHECK(make_snapshot_dirs(dir));
    if (mode != SnapshotMode::kCopy) {
      auto m =
          mount_overlay(*this, img, dir, {.volatile_upper = opts.throwaway}, opts.container_files);
      if (m || mode == SnapshotMode::kOverlay) return m;
      log::info("overlayfs not usable ({}); copying the layers", m.error().text());
    }
    snap.mode = SnapshotMode::kCopy;
    BERTH_CHECK(db_.run("UPDATE snapshots SET mode='copy' WHERE key=?1", {k}));
    return copy_layers(*this, img, snap.rootfs);
  }();
  if (!made) {
    (void)remove_snapshot(k);
    return fail(std::move(made.error()).wrap(fmt::format("snapshot {}", k)));
  }
  snap.mode = snap.mode == SnapshotMode::kAuto ? SnapshotMode::kOverlay : snap.mode;
  return snap;
}

Result<void> Store::remount_snapshot(const ImageRecord& img, std::string_view key,
                                     const SnapshotOptions& opts) {
  if (!valid_key(key)) return fail(invalid("snapshot key {:?} is not valid", key));
  std::string k(key);
  auto mode = BERTH_TRY(db_.scalar("SELECT mode FROM snapshots WHERE key=?1", {k}));
  if (!mode) {
    BERTH_CHECK(prepare_snapshot(img, k, opts));
    return {};
  }
  if (*mode == "copy") return {};  // a plain directory: nothing to mount
  StoreLock held = BERTH_TRY(lock(false));
  std::string dir = root_ + "/snapshots/" + k;
  BERTH_CHECK(make_snapshot_dirs(dir));
  return mount_overlay(*this, img, dir, {.volatile_upper = opts.throwaway}, opts.container_files);
}

Result<void> Store::remove_snapshot(std::string_view key) {
  if (!valid_key(key)) return fail(invalid("snapshot key {:?} is not valid", key));
  std::string k(key);
  std::string dir = root_ + "/snapshots/" + k;
  std::string rootfs = dir + "/rootfs";
  // A plain unmount first: it succeeds only when neither this mount nor any copy propagated
  // from it is in use, and then the tree may be reused. Busy: detached lazily, and removed.
  bool unmounted = umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) == 0;
  int err = unmounted ? 0 : errno;
  if (err == EBUSY) err = umount2(rootfs.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0 ? 0 : errno;
  if (err != 0 && err != EINVAL && err != ENOENT) return fail(sys_error(err, "unmount {}", rootfs));
  trace::mark("snapshot: unmounted");
  UniqueFd snaps = BERTH_TRY(open_dir_at(AT_FDCWD, root_ + "/snapshots"));
  auto scrub_here = [&](int dirfd) { return scrub(dirfd, snaps.get()); };
  if (!unmounted || !park_spare_dir(snaps.get(), k, kMaxSpares, scrub_here))
    BERTH_CHECK(remove_at(snaps.get(), k));
  trace::mark("snapshot: scrubbed, parked");
  return db_.run("DELETE FROM snapshots WHERE key=?1", {k});
}

void Store::empty_trash() const {
  UniqueFd trash(::open((root_ + "/snapshots/" + kTrash).c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!trash) return;
  auto names = names_at(trash.get());
  if (!names) return;
  // Another process may empty it at the same time: what it deleted first is gone already
  // (remove_at takes ENOENT as done), and whatever is left stays for the next time.
  for (const auto& n : *names) (void)remove_at(trash.get(), n);
}

Result<std::vector<Snapshot>> Store::list_snapshots() {
  std::vector<Snapshot> out;
  Stmt st = BERTH_TRY(db_.query("SELECT key, mode FROM snapshots ORDER BY key"));
  while (BERTH_TRY(st.step()))
    out.push_back({st.text(0), root_ + "/snapshots/" + st.text(0) + "/rootfs",
                   st.text(1) == "copy" ? SnapshotMode::kCopy : SnapshotMode::kOverlay});
  return out;
}

}  // namespace berth::image
