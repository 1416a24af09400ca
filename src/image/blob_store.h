// Blobs by digest under <root>/blobs/sha256/<hex>. Every blob is verified while it is written
// and lands by rename after fsync, so a blob file that exists is complete and correct.
// Downloads in progress live in <root>/ingest/<hex>.partial and are resumed from their size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "image/digest.h"

namespace berth::image {

class BlobStore {
 public:
  explicit BlobStore(std::string root);  // the store root; blobs/ and ingest/ are below it

  std::string path(const Digest& d) const;
  bool has(const Digest& d) const;
  Result<int64_t> size(const Digest& d) const;
  // Reads a whole (small) blob and checks its digest.
  Result<std::string> read(const Digest& d) const;
  // Stores data; returns its digest. Idempotent.
  Result<Digest> put(std::string_view data) const;
  // Stores data that must have digest want.
  Result<void> put_verified(const Digest& want, std::string_view data) const;
  Result<void> remove(const Digest& d) const;
  // Re-reads a blob and checks it against its name.
  Result<void> verify(const Digest& d) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// Writes one blob: hashed as written; commit() checks the digest, fsyncs and renames.
// With a known digest the partial file is kept on failure and resumed by the next writer;
// an exclusive lock on it keeps two processes from writing the same download.
class BlobWriter {
 public:
  static Result<BlobWriter> open(const BlobStore& store, const Digest& want);
  // A blob whose digest is known only at the end (imports): a private temp file.
  static Result<BlobWriter> open_new(const BlobStore& store);
  BlobWriter(BlobWriter&&) noexcept = default;
  BlobWriter& operator=(BlobWriter&&) noexcept = default;
  ~BlobWriter();

  int64_t offset() const { return offset_; }  // bytes written so far (resume point)
  Result<void> write(const void* data, size_t n);
  Result<void> restart();  // drops what was written (a server that ignored Range)
  // Verifies (when the digest is known), fsyncs and renames into place; returns the digest.
  Result<Digest> commit();
  // Removes the partial file (a corrupt download must not be resumed).
  void discard();
  const std::string& partial_path() const { return partial_; }
  int fd() const { return fd_.get(); }

 private:
  BlobWriter() = default;
  const BlobStore* store_ = nullptr;
  std::optional<Digest> want_;
  std::string partial_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t offset_ = 0;
  bool done_ = false;
};

}  // namespace berth::image
