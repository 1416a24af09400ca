#include "engine/volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/path.h"
#include "oci/json_read.h"
#include "sys/in_root.h"

namespace berth::engine {

Result<void> Volumes::validate_name(std::string_view n) const {
  if (n.empty() || n.size() > 128 || n[0] == '.' || n[0] == '-')
    return fail(invalid("volume name {:?} is not valid", n));
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return fail(invalid("volume name {:?}: only letters, digits, _ . - are allowed", n));
  return {};
}

Result<Volume> Volumes::get(std::string_view name) const {
  BERTH_CHECK(validate_name(name));
  std::string d = path::join(dir_, name);
  auto text = file::read(path::join(d, "volume.json"));
  if (!text) {
    if (text.error().kind() == ErrorKind::kNotFound)
      return fail(make_error(ErrorKind::kNotFound, "no such volume: {}", name));
    return fail(std::move(text.error()));
  }
  return oci::jr::parse_with(*text, "volume.json", [&](const oci::jr::Obj& o) {
    Volume v;
    v.name = o.string("name", true);
    v.mountpoint = path::join(d, "_data");
    v.created = o.i64("created");
    v.anonymous = o.boolean("anonymous");
    v.labels = o.string_map("labels");
    return v;
  });
}

Result<Volume> Volumes::ensure(std::string_view name, bool anonymous, bool* created,
                               const std::map<std::string, std::string>& labels) {
  BERTH_CHECK(validate_name(name));
  if (created) *created = false;
  if (auto v = get(name)) return v;
  BERTH_CHECK(file::mkdir_all(dir_, 0700));
  std::string d = path::join(dir_, name);
  if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(sys_error(errno, "create volume {}", name));
  std::string data = path::join(d, "_data");
  if (::mkdir(data.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(sys_error(errno, "create volume {}", name));
  Volume v;
  v.name = std::string(name);
  v.mountpoint = data;
  v.created = time(nullptr);
  v.anonymous = anonymous;
  v.labels = labels;
  nlohmann::json j = {
      {"name", v.name}, {"created", v.created}, {"anonymous", anonymous}, {"labels", labels}};
  // O_EXCL on a temp + rename: two racing creators both succeed with one record.
  BERTH_CHECK(file::write_atomic(path::join(d, "volume.json"), j.dump(), 0644, true));
  if (created) *created = true;
  return v;
}

Result<std::vector<Volume>> Volumes::list() const {
  std::vector<Volume> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (auto v = get(e->d_name)) out.push_back(*v);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

Result<void> Volumes::remove(std::string_view name) {
  BERTH_CHECK(get(name));
  return file::remove_all(path::join(dir_, name));
}

namespace {

Result<void> copy_dir(int src, int dst);

Result<void> copy_entry(int src_dir, int dst_dir, const char* name) {
  struct stat st {};
  if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst_dir, name, st.st_mode & 07777) != 0 && errno != EEXIST)
      return fail(sys_error(errno, "copy {}", name));
    UniqueFd s(::openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd d(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (s && d) BERTH_CHECK(copy_dir(s.get(), d.get()));
    if (d) {
      (void)::fchown(d.get(), st.st_uid, st.st_gid);
      (void)::fchmod(d.get(), st.st_mode & 07777);
    }
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd s(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd d(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777));
    if (!s || !d) return {};
    char buf[65536];
    ssize_t n;
    while ((n = ::read(s.get(), buf, sizeof buf)) > 0)
      if (::write(d.get(), buf, static_cast<size_t>(n)) != n)
        return fail(sys_error(errno, "copy {}", name));
    (void)::fchown(d.get(), st.st_uid, st.st_gid);
    (void)::fchmod(d.get(), st.st_mode & 07777);
  } else if (S_ISLNK(st.st_mode)) {
    char t[4096];
    ssize_t n = ::readlinkat(src_dir, name, t, sizeof t - 1);
    if (n < 0) return {};
    t[n] = 0;
    (void)::symlinkat(t, dst_dir, name);
    (void)::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
  }
  return {};
}

Result<void> copy_dir(int src, int dst) {
  UniqueFd dup(::openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = ::fdopendir(dup.release());
  if (!d) return fail(sys_error(errno, "read directory"));
  Result<void> res;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (auto r = copy_entry(::dirfd(d), dst, e->d_name); !r) {
      res = std::move(r);
      break;
    }
  }
  ::closedir(d);
  return res;
}

}  // namespace

Result<void> Volumes::populate(const Volume& v, const std::string& rootfs,
                               const std::string& target) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail(sys_error(errno, "open rootfs {}", rootfs));
  // The image's content at the mount point, resolved inside the rootfs (a hostile image's
  // symlink cannot make berth copy a host directory into the volume).
  auto src = sys::open_in_root(root.get(), target);
  if (!src) return {};  // nothing there: an empty volume
  UniqueFd dir(::openat(src->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  UniqueFd dst(::open(v.mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst) return fail(sys_error(errno, "open volume {}", v.name));
  return copy_dir(dir.get(), dst.get());
}

}  // namespace berth::engine
