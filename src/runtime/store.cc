#include "runtime/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/file.h"
#include "base/path.h"

namespace berth::runtime {

Result<void> validate_id(std::string_view id) {
  if (id.empty()) return fail(invalid("container id is empty"));
  if (id.size() > 1024) return fail(invalid("container id is longer than 1024 characters"));
  if (id == "." || id == "..") return fail(invalid("container id {:?} is not allowed", id));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '+' || c == '-';
    if (!ok)
      return fail(
          invalid("container id {:?} has a character other than letters, digits, _ . + -", id));
  }
  return {};
}

std::string Store::dir(std::string_view id) const { return path::join(root_, id); }

Result<void> Store::create_dir(std::string_view id) {
  BERTH_CHECK(file::mkdir_all(root_, 0700));
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return fail(make_error(ErrorKind::kAlreadyExists, "container {:?} already exists", id));
    return fail(sys_error(errno, "mkdir {}", d));
  }
  return {};
}

Result<UniqueFd> Store::lock(std::string_view id) const {
  std::string d = dir(id);
  UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return fail(make_error(ErrorKind::kNotFound, "container {:?} does not exist", id));
    return fail(sys_error(errno, "open {}", d));
  }
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(sys_error(errno, "lock {}", d));
  }
  return fd;
}

Result<oci::State> Store::load(std::string_view id) const {
  auto text = file::read(path::join(dir(id), "state.json"));
  if (!text) {
    if (text.error().sys_errno() == ENOENT) {
      if (file::exists(dir(id))) {
        oci::State st;
        st.id = std::string(id);
        st.status = oci::Status::kCreating;
        return st;
      }
      return fail(make_error(ErrorKind::kNotFound, "container {:?} does not exist", id));
    }
    return fail(std::move(text.error()));
  }
  return oci::parse_state(*text);
}

Result<void> Store::save(const oci::State& st) const {
  // The state dir lives on tmpfs (/run) in normal use, where fsync costs nothing; elsewhere
  // the rename alone keeps readers from seeing half a file.
  return file::write_atomic(path::join(dir(st.id), "state.json"), st.to_json(), 0600, false);
}

Result<void> Store::remove(std::string_view id) const { return file::remove_all(dir(id)); }

Result<std::vector<std::string>> Store::list() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return fail(sys_error(errno, "open {}", root_));
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || n.front() == '.') continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::runtime
