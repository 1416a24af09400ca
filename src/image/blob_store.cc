#include "image/blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "base/file.h"

namespace berth::image {
namespace {

Result<void> write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return fail(sys_error(errno, "write blob"));
    p += k;
    n -= static_cast<size_t>(k);
  }
  return {};
}

std::string unique_suffix() {
  static std::atomic<uint64_t> n{0};
  return std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace

BlobStore::BlobStore(std::string root) : root_(std::move(root)) {}

std::string BlobStore::path(const Digest& d) const { return root_ + "/blobs/sha256/" + d.hex(); }

bool BlobStore::has(const Digest& d) const { return access(path(d).c_str(), F_OK) == 0; }

Result<int64_t> BlobStore::size(const Digest& d) const {
  struct stat st {};
  if (stat(path(d).c_str(), &st) != 0) {
    if (errno == ENOENT)
      return fail(make_error(ErrorKind::kNotFound, "blob {} not found", d.str()));
    return fail(sys_error(errno, "stat blob {}", d.str()));
  }
  return static_cast<int64_t>(st.st_size);
}

Result<std::string> BlobStore::read(const Digest& d) const {
  auto text = file::read(path(d));
  if (!text) {
    if (text.error().sys_errno() == ENOENT)
      return fail(make_error(ErrorKind::kNotFound, "blob {} not found", d.str()));
    return fail(std::move(text.error()));
  }
  BERTH_CHECK(verify_digest(d, sha256_of(*text), "blob " + d.short_id()));
  return std::move(*text);
}

Result<Digest> BlobStore::put(std::string_view data) const {
  Digest d = sha256_of(data);
  if (!has(d)) BERTH_CHECK(file::write_atomic(path(d), data, 0644, true));
  return d;
}

Result<void> BlobStore::put_verified(const Digest& want, std::string_view data) const {
  BERTH_CHECK(verify_digest(want, sha256_of(data), "blob"));
  if (!has(want)) BERTH_CHECK(file::write_atomic(path(want), data, 0644, true));
  return {};
}

Result<void> BlobStore::remove(const Digest& d) const {
  if (unlink(path(d).c_str()) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "remove blob {}", d.str()));
  return {};
}

Result<void> BlobStore::verify(const Digest& d) const {
  UniqueFd fd(::open(path(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open blob {}", d.str()));
  Sha256 h;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error(errno, "read blob {}", d.str()));
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return verify_digest(d, h.finish(), "blob " + d.str());
}

Result<BlobWriter> BlobWriter::open(const BlobStore& store, const Digest& want) {
  BlobWriter w;
  w.store_ = &store;
  w.want_ = want;
  w.partial_ = store.root() + "/ingest/" + want.hex() + ".partial";
  w.fd_ = UniqueFd(::open(w.partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!w.fd_) return fail(sys_error(errno, "open {}", w.partial_));
  // Another process writing the same blob: wait for it (then likely find the blob there).
  while (flock(w.fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(sys_error(errno, "lock {}", w.partial_));
  }
  // Re-hash what an earlier, interrupted download left.
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::pread(w.fd_.get(), buf.data(), buf.size(), w.offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error(errno, "read {}", w.partial_));
    if (n == 0) break;
    w.hash_.update(buf.data(), static_cast<size_t>(n));
    w.offset_ += n;
  }
  if (lseek(w.fd_.get(), w.offset_, SEEK_SET) < 0) return fail(sys_error(errno, "seek"));
  return w;
}

Result<BlobWriter> BlobWriter::open_new(const BlobStore& store) {
  BlobWriter w;
  w.store_ = &store;
  w.partial_ = store.root() + "/ingest/new-" + unique_suffix() + ".partial";
  w.fd_ = UniqueFd(
      ::open(w.partial_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!w.fd_) return fail(sys_error(errno, "create {}", w.partial_));
  return w;
}

BlobWriter::~BlobWriter() {
  // Unknown-digest temp files cannot be resumed: never leave them.
  if (fd_ && !done_ && !want_) unlink(partial_.c_str());
}

Result<void> BlobWriter::write(const void* data, size_t n) {
  BERTH_CHECK(write_all(fd_.get(), data, n));
  hash_.update(data, n);
  offset_ += static_cast<int64_t>(n);
  return {};
}

Result<void> BlobWriter::restart() {
  if (ftruncate(fd_.get(), 0) != 0 || lseek(fd_.get(), 0, SEEK_SET) != 0)
    return fail(sys_error(errno, "truncate {}", partial_));
  hash_ = Sha256();
  offset_ = 0;
  return {};
}

Result<Digest> BlobWriter::commit() {
  Digest got = hash_.finish();
  if (want_) {
    auto ok = verify_digest(*want_, got, "blob");
    if (!ok) {
      discard();
      return fail(std::move(ok.error()));
    }
  }
  if (fsync(fd_.get()) != 0) return fail(sys_error(errno, "fsync {}", partial_));
  std::string dest = store_->path(got);
  if (rename(partial_.c_str(), dest.c_str()) != 0)
    return fail(sys_error(errno, "rename {} to {}", partial_, dest));
  done_ = true;
  fd_.reset();
  return got;
}

void BlobWriter::discard() {
  unlink(partial_.c_str());
  done_ = true;
  fd_.reset();
}

}  // namespace berth::image
