#include "engine/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "base/defer.h"
#include "base/unique_fd.h"

namespace berth::engine {

namespace {

using WritePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;
using ResolverPtr =
    std::unique_ptr<archive_entry_linkresolver, decltype(&archive_entry_linkresolver_free)>;

class TreeWriter {
 public:
  TreeWriter(archive* a, archive_entry_linkresolver* links, dev_t root_dev)
      : a_(a), links_(links), root_dev_(root_dev) {}

  // Entries below directory `dir` (named `prefix` in the archive, "" for the root).
  Result<void> walk(int dir, const std::string& prefix) {
    UniqueFd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing) return fail(sys_error(errno, "open {}", prefix.empty() ? "/" : prefix));
    DIR* d = ::fdopendir(listing.release());
    if (!d) return fail(sys_error(errno, "read {}", prefix));
    Defer closer([d] { ::closedir(d); });
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      BERTH_CHECK(entry(::dirfd(d), n, prefix.empty() ? n : prefix + "/" + n));
    }
    return {};
  }

 private:
  Result<void> entry(int dir, const std::string& name, const std::string& path) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(sys_error(errno, "stat {}", path));
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_copy_pathname(e.get(), path.c_str());
    archive_entry_copy_stat(e.get(), &st);
    UniqueFd file;
    if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
      if (n < 0) return fail(sys_error(errno, "readlink {}", path));
      target.resize(static_cast<size_t>(n));
      archive_entry_copy_symlink(e.get(), target.c_str());
    } else if (S_ISREG(st.st_mode)) {
      file.reset(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file) return fail(sys_error(errno, "open {}", path));
    }
    archive_entry* sparse = nullptr;
    archive_entry* one = e.release();
    // A second name of a file already written becomes a hard link entry without data.
    archive_entry_linkify(links_, &one, &sparse);
    EntryPtr owned(one, archive_entry_free);
    if (owned) BERTH_CHECK(write(owned.get(), file.get(), path));
    if (S_ISDIR(st.st_mode) && st.st_dev == root_dev_) {
      UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return fail(sys_error(errno, "open {}", path));
      BERTH_CHECK(walk(sub.get(), path));
    }
    return {};
  }

  Result<void> write(archive_entry* e, int fd, const std::string& path) {
    if (archive_write_header(a_, e) < ARCHIVE_WARN)
      return fail(make_error(ErrorKind::kSystem, "tar {}: {}", path, archive_error_string(a_)));
    // A hard link entry has no data (its size is 0 then).
    if (fd < 0 || archive_entry_size(e) == 0) return {};
    char buf[1 << 16];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(sys_error(errno, "read {}", path));
      if (n == 0) return {};
      if (archive_write_data(a_, buf, static_cast<size_t>(n)) < 0)
        return fail(make_error(ErrorKind::kSystem, "tar {}: {}", path, archive_error_string(a_)));
    }
  }

  archive* a_;
  archive_entry_linkresolver* links_;
  dev_t root_dev_;
};

}  // namespace

Result<void> write_tree_tar(int root_dir, int out_fd) {
  struct stat root {};
  if (::fstat(root_dir, &root) != 0) return fail(sys_error(errno, "stat the root"));
  WritePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_fd(a.get(), out_fd) != ARCHIVE_OK)
    return fail(make_error(ErrorKind::kSystem, "tar: {}", archive_error_string(a.get())));
  ResolverPtr links(archive_entry_linkresolver_new(), archive_entry_linkresolver_free);
  archive_entry_linkresolver_set_strategy(links.get(), archive_format(a.get()));
  TreeWriter w(a.get(), links.get(), root.st_dev);
  BERTH_CHECK(w.walk(root_dir, ""));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(make_error(ErrorKind::kSystem, "tar: {}", archive_error_string(a.get())));
  return {};
}

}  // namespace berth::engine
