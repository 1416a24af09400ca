// Pull-style byte streams for layer data: a file (optionally one still being downloaded, read
// as it grows), and a decompressor that detects gzip or zstd by magic and hashes both the
// compressed bytes (the blob digest) and the uncompressed ones (the diff_id) on the way.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "image/digest.h"
#include "image/manifest.h"

namespace berth::image {

class Reader {
 public:
  virtual ~Reader() = default;
  // Up to n bytes into buf; 0 at the end.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

// A file that another thread is appending to: the writer calls grow() after each write and
// finish() at the end; a FileReader given this state waits for data rather than seeing EOF.
class GrowingFile {
 public:
  void grow(int64_t new_size);
  void finish(bool ok, std::string error = "");
  // Blocks until more than pos bytes exist or the file is finished; returns the size known.
  Result<int64_t> wait_beyond(int64_t pos);

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int64_t size_ = 0;
  bool done_ = false;
  bool ok_ = true;
  std::string error_;
};

class FileReader : public Reader {
 public:
  // fd is not owned. growing may be null (a complete file).
  FileReader(int fd, GrowingFile* growing = nullptr) : fd_(fd), growing_(growing) {}
  Result<size_t> read(char* buf, size_t n) override;

 private:
  int fd_;
  GrowingFile* growing_;
  int64_t pos_ = 0;
};

class StringReader : public Reader {
 public:
  explicit StringReader(std::string_view s) : s_(s) {}
  Result<size_t> read(char* buf, size_t n) override;

 private:
  std::string_view s_;
};

// Reads inner, detects the compression from the first bytes, and yields the uncompressed
// stream. drain() reads inner to its end (after the consumer stopped early, as tar readers
// do at the end-of-archive blocks) so the digests cover every byte.
class DecompressReader : public Reader {
 public:
  explicit DecompressReader(Reader& inner);
  ~DecompressReader() override;
  Result<size_t> read(char* buf, size_t n) override;
  Result<void> drain();
  Digest compressed_digest();  // after drain()
  Digest uncompressed_digest();
  int64_t compressed_size() const { return in_total_; }
  int64_t uncompressed_size() const { return out_total_; }
  Compression compression() const { return kind_; }

 private:
  Result<void> fill();
  Result<size_t> inflate_some(char* buf, size_t n);

  struct Codec;
  Reader& inner_;
  std::unique_ptr<Codec> codec_;
  Compression kind_ = Compression::kNone;
  bool detected_ = false;
  bool in_eof_ = false;
  bool out_eof_ = false;
  bool frame_open_ = false;  // inside a gzip member or zstd frame
  std::string in_;
  size_t in_pos_ = 0;
  Sha256 in_hash_, out_hash_;
  int64_t in_total_ = 0, out_total_ = 0;
};

}  // namespace berth::image
