#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "base/log.h"
#include "base/strings.h"
#include "image/fs_util.h"
#include "sys/in_root.h"

namespace berth::image {

Result<std::string> clean_entry_name(std::string_view name) {
  std::string out;
  for (const auto& c : split(name, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") return fail(invalid("\"..\" is not allowed in a name"));
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

namespace {

// libarchive's message for its last error (it may have none).
const char* archive_error(struct archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unreadable archive data";
}

constexpr size_t kBlock = 1 << 17;

struct ArchiveInput {
  Reader* in;
  std::string buf = std::string(kBlock, '\0');
  std::string error;
};

la_ssize_t read_cb(struct archive* a, void* ctx, const void** out) {
  auto* in = static_cast<ArchiveInput*>(ctx);
  auto n = in->in->read(in->buf.data(), in->buf.size());
  if (!n) {
    in->error = n.error().text();
    archive_set_error(a, EIO, "%s", in->error.c_str());
    return -1;
  }
  *out = in->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct DirTimes {
  std::string path;
  timespec ts[2];
};

class Unpacker {
 public:
  Unpacker(struct archive* a, int root, const UnpackOptions& o) : a_(a), root_(root), opts_(o) {}
  Result<void> apply(struct archive_entry* e);
  Result<void> finish();
  UnpackStats stats;

 private:
  Result<int> parent_fd(const std::string& parent, bool create);
  Result<void> whiteout(const std::string& parent, const std::string& base);
  Result<void> regular(int dirfd, const std::string& name, struct archive_entry* e);
  Result<void> hardlink(int dirfd, const std::string& name, const char* target);
  Result<void> directory(int dirfd, const std::string& path, const std::string& name,
                         struct archive_entry* e);
  Result<void> special(int dirfd, const std::string& name, struct archive_entry* e, mode_t type);
  void set_owner(int fd, int dirfd, const std::string& name, struct archive_entry* e);
  void set_xattrs(int fd, struct archive_entry* e);
  // Entries may have changed what a cached path resolves to. The fds stay open until the next
  // entry (the caller may still hold one).
  void invalidate() {
    for (auto& [k, fd] : cache_) graveyard_.push_back(std::move(fd));
    cache_.clear();
  }

  struct archive* a_;
  int root_;
  UnpackOptions opts_;
  std::map<std::string, UniqueFd> cache_;  // parent path -> O_PATH fd
  std::vector<UniqueFd> graveyard_;
  std::vector<DirTimes> dirs_;
};

void entry_times(struct archive_entry* e, timespec ts[2]) {
  ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  ts[0] = archive_entry_atime_is_set(e)
              ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
              : ts[1];
}

Result<int> Unpacker::parent_fd(const std::string& parent, bool create) {
  auto it = cache_.find(parent);
  if (it != cache_.end()) return it->second.get();
  auto fd = sys::open_in_root(root_, parent.empty() ? "." : parent,
                              create ? sys::Create::kDir : sys::Create::kNone);
  if (!fd) return fail(std::move(fd.error()));
  if (cache_.size() > 256) invalidate();
  int raw = fd->get();
  cache_.emplace(parent, std::move(*fd));
  return raw;
}

void Unpacker::set_owner(int fd, int dirfd, const std::string& name, struct archive_entry* e) {
  auto uid = static_cast<uid_t>(archive_entry_uid(e));
  auto gid = static_cast<gid_t>(archive_entry_gid(e));
  int rc =
      fd >= 0 ? fchown(fd, uid, gid) : fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  if (rc != 0 && !opts_.rootless) log::debug("chown {}: {}", name, strerror(errno));
}

void Unpacker::set_xattrs(int fd, struct archive_entry* e) {
  if (archive_entry_xattr_reset(e) == 0) return;
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n(name);
    // overlayfs's own attributes would let a layer redirect lookups into other layers.
    if (n.rfind("trusted.overlay.", 0) == 0 || n.rfind("user.overlay.", 0) == 0) continue;
    if (fsetxattr(fd, name, value, size, 0) != 0) log::debug("xattr {}: {}", name, strerror(errno));
  }
}

Result<void> Unpacker::whiteout(const std::string& parent, const std::string& base) {
  int dirfd = BERTH_TRY(parent_fd(parent, true));
  ++stats.whiteouts;
  if (base == ".wh..wh..opq") {
    UniqueFd dir = BERTH_TRY(open_dir_at(dirfd, "."));
    if (fsetxattr(dir.get(), kOpaqueXattr, "y", 1, 0) != 0)
      return fail(sys_error(errno, "set opaque on {:?}", parent));
    return {};
  }
  std::string victim = base.substr(4);
  if (victim.empty() || victim == "." || victim == "..")
    return fail(invalid("whiteout {:?} names nothing", base));
  invalidate();
  BERTH_CHECK(remove_at(dirfd, victim));
  if (mknodat(dirfd, victim.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    return fail(sys_error(errno, "whiteout {}", victim));
  return {};
}

Result<void> Unpacker::regular(int dirfd, const std::string& name, struct archive_entry* e) {
  UniqueFd fd(
      ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail(sys_error(errno, "create {}", name));
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int rc = archive_read_data_block(a_, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return fail(invalid("read data of {}: {}", name, archive_error(a_)));
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t k = pwrite(fd.get(), p, size, offset);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return fail(sys_error(errno, "write {}", name));
      p += k;
      size -= static_cast<size_t>(k);
      offset += k;
      stats.bytes += k;
    }
  }
  if (archive_entry_size_is_set(e) && ftruncate(fd.get(), archive_entry_size(e)) != 0)
    return fail(sys_error(errno, "truncate {}", name));
  set_owner(fd.get(), dirfd, name, e);
  if (fchmod(fd.get(), archive_entry_perm(e) & 07777) != 0)
    return fail(sys_error(errno, "chmod {}", name));
  set_xattrs(fd.get(), e);
  timespec ts[2];
  entry_times(e, ts);
  futimens(fd.get(), ts);
  return {};
}

Result<void> Unpacker::hardlink(int dirfd, const std::string& name, const char* target) {
  std::string t = BERTH_TRY(clean_entry_name(target));
  if (t.empty()) return fail(invalid("hardlink {} to the root", name));
  size_t slash = t.rfind('/');
  std::string tparent = slash == std::string::npos ? "" : t.substr(0, slash);
  std::string tbase = slash == std::string::npos ? t : t.substr(slash + 1);
  auto tdir = sys::open_in_root(root_, tparent.empty() ? "." : tparent);
  if (!tdir)
    return fail(make_error(ErrorKind::kInvalidArgument,
                           "hardlink {} to {:?}: target not in this layer", name, t));
  struct stat st {};
  if (fstatat(tdir->get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(invalid("hardlink {} to {:?}: target not in this layer", name, t));
  if (S_ISDIR(st.st_mode)) return fail(invalid("hardlink {} to directory {:?}", name, t));
  if (linkat(tdir->get(), tbase.c_str(), dirfd, name.c_str(), 0) != 0)
    return fail(sys_error(errno, "hardlink {} to {}", name, t));
  return {};
}

Result<void> Unpacker::directory(int dirfd, const std::string& path, const std::string& name,
                                 struct archive_entry* e) {
  struct stat st {};
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
    invalidate();
    BERTH_CHECK(remove_at(dirfd, name));
  }
  if (mkdirat(dirfd, name.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(sys_error(errno, "mkdir {}", name));
  UniqueFd fd = BERTH_TRY(open_dir_at(dirfd, name));
  set_owner(fd.get(), dirfd, name, e);
  if (fchmod(fd.get(), archive_entry_perm(e) & 07777) != 0)
    return fail(sys_error(errno, "chmod {}", name));
  set_xattrs(fd.get(), e);
  DirTimes dt{path, {}};
  entry_times(e, dt.ts);
  dirs_.push_back(std::move(dt));
  return {};
}

Result<void> Unpacker::special(int dirfd, const std::string& name, struct archive_entry* e,
                               mode_t type) {
  if (type == S_IFLNK) {
    const char* target = archive_entry_symlink(e);
    if (!target) return fail(invalid("symlink {} has no target", name));
    if (symlinkat(target, dirfd, name.c_str()) != 0)
      return fail(sys_error(errno, "symlink {}", name));
  } else {
    if ((type == S_IFCHR || type == S_IFBLK) && opts_.rootless) {
      log::debug("skipping device node {} (rootless)", name);
      return {};
    }
    dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (mknodat(dirfd, name.c_str(), type | 0600, dev) != 0)
      return fail(sys_error(errno, "mknod {}", name));
    if (fchmodat(dirfd, name.c_str(), archive_entry_perm(e) & 07777, 0) != 0)
      return fail(sys_error(errno, "chmod {}", name));
  }
  set_owner(-1, dirfd, name, e);
  timespec ts[2];
  entry_times(e, ts);
  utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return {};
}

Result<void> Unpacker::apply(struct archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) return fail(invalid("entry without a name"));
  graveyard_.clear();
  std::string path = BERTH_TRY(clean_entry_name(raw));
  ++stats.entries;
  if (path.empty()) return {};  // the root itself
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (opts_.overlay_whiteouts && base.rfind(".wh.", 0) == 0) return whiteout(parent, base);
  int dirfd = BERTH_TRY(parent_fd(parent, true));
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFDIR) return directory(dirfd, path, base, e);
  // Every other type replaces what is there.
  struct stat st {};
  if (fstatat(dirfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    invalidate();
    BERTH_CHECK(remove_at(dirfd, base));
  }
  if (const char* target = archive_entry_hardlink(e)) {
    invalidate();
    return hardlink(dirfd, base, target);
  }
  switch (type) {
    case AE_IFREG:
      return regular(dirfd, base, e);
    case AE_IFLNK:
      invalidate();
      return special(dirfd, base, e, S_IFLNK);
    case AE_IFCHR:
      return special(dirfd, base, e, S_IFCHR);
    case AE_IFBLK:
      return special(dirfd, base, e, S_IFBLK);
    case AE_IFIFO:
      return special(dirfd, base, e, S_IFIFO);
    case AE_IFSOCK:
      return {};  // sockets are not recreated (as Docker does)
    default:
      return fail(invalid("entry {}: unsupported file type {:o}", path, type));
  }
}

Result<void> Unpacker::finish() {
  // Directory times last (creating children changed them), deepest first.
  invalidate();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    size_t slash = it->path.rfind('/');
    std::string parent = slash == std::string::npos ? "." : it->path.substr(0, slash);
    std::string base = slash == std::string::npos ? it->path : it->path.substr(slash + 1);
    auto dir = sys::open_in_root(root_, parent);
    if (dir) utimensat(dir->get(), base.c_str(), it->ts, AT_SYMLINK_NOFOLLOW);
  }
  return {};
}

}  // namespace

Result<UnpackStats> unpack_layer(Reader& in, int layer_dirfd, const UnpackOptions& opts) {
  struct archive* a = archive_read_new();
  if (!a) return fail(make_error(ErrorKind::kInternal, "archive_read_new failed"));
  std::unique_ptr<struct archive, decltype([](struct archive* p) { archive_read_free(p); })> own(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  ArchiveInput input{&in};
  if (archive_read_open(a, &input, nullptr, read_cb, nullptr) != ARCHIVE_OK)
    return fail(invalid("layer: {}", input.error.empty() ? archive_error(a) : input.error));
  Unpacker u(a, layer_dirfd, opts);
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      std::string why = input.error.empty() ? archive_error(a) : input.error;
      return fail(invalid("layer: bad tar data after {} entries: {}", u.stats.entries, why));
    }
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name.size() > 120) {
      name.resize(120);
      name += "...";
    }
    BERTH_CHECK_CTX(u.apply(e), "layer entry {:?}", name);
  }
  BERTH_CHECK(u.finish());
  return u.stats;
}

}  // namespace berth::image
