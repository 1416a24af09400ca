#include "engine/volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/path.h"
#include "engine/copy.h"
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
  return copy_dir_contents(dir.get(), dst.get());
}

}  // namespace berth::engine
