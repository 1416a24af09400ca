#include "image/stream.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

namespace berth::image {

void GrowingFile::grow(int64_t new_size) {
  {
    std::lock_guard l(m_);
    size_ = new_size;
  }
  cv_.notify_all();
}

void GrowingFile::finish(bool ok, std::string error) {
  {
    std::lock_guard l(m_);
    done_ = true;
    ok_ = ok;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

Result<int64_t> GrowingFile::wait_beyond(int64_t pos) {
  std::unique_lock l(m_);
  cv_.wait(l, [&] { return size_ > pos || done_; });
  if (done_ && !ok_ && size_ <= pos)
    return fail(make_error(ErrorKind::kUnavailable, "download failed: {}", error_));
  return size_;
}

Result<size_t> FileReader::read(char* buf, size_t n) {
  if (growing_) {
    int64_t size = BERTH_TRY(growing_->wait_beyond(pos_));
    if (size <= pos_) return size_t{0};
    n = std::min(n, static_cast<size_t>(size - pos_));
  }
  for (;;) {
    ssize_t k = ::pread(fd_, buf, n, pos_);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return fail(sys_error(errno, "read layer data"));
    pos_ += k;
    return static_cast<size_t>(k);
  }
}

Result<size_t> StringReader::read(char* buf, size_t n) {
  n = std::min(n, s_.size());
  memcpy(buf, s_.data(), n);
  s_.remove_prefix(n);
  return n;
}

struct DecompressReader::Codec {
  z_stream z{};
  bool z_init = false;
  ZSTD_DStream* zs = nullptr;
  ~Codec() {
    if (z_init) inflateEnd(&z);
    if (zs) ZSTD_freeDStream(zs);
  }
};

DecompressReader::DecompressReader(Reader& inner) : inner_(inner), codec_(new Codec) {}
DecompressReader::~DecompressReader() = default;

Result<void> DecompressReader::fill() {
  if (in_eof_) return {};
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  size_t old = in_.size();
  in_.resize(old + (1 << 17));
  size_t k = BERTH_TRY(inner_.read(in_.data() + old, 1 << 17));
  in_.resize(old + k);
  if (k == 0) in_eof_ = true;
  in_hash_.update(in_.data() + old, k);
  in_total_ += static_cast<int64_t>(k);
  return {};
}

Result<size_t> DecompressReader::inflate_some(char* buf, size_t n) {
  Codec& c = *codec_;
  for (;;) {
    if (in_pos_ == in_.size() && !in_eof_) BERTH_CHECK(fill());
    size_t avail = in_.size() - in_pos_;
    if (avail == 0 && in_eof_) {
      if (frame_open_ || out_total_ == 0)
        return fail(invalid("layer: truncated {} stream", compression_name(kind_)));
      return size_t{0};
    }
    frame_open_ = true;
    if (kind_ == Compression::kGzip) {
      c.z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      c.z.avail_in = static_cast<uInt>(avail);
      c.z.next_out = reinterpret_cast<Bytef*>(buf);
      c.z.avail_out = static_cast<uInt>(n);
      int rc = inflate(&c.z, Z_NO_FLUSH);
      in_pos_ += avail - c.z.avail_in;
      size_t got = n - c.z.avail_out;
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members are one stream (pigz, some registries' tools).
        inflateReset(&c.z);
        frame_open_ = false;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return fail(invalid("layer: gzip data is corrupt ({})", c.z.msg ? c.z.msg : "error"));
      }
      if (got > 0) return got;
    } else {
      ZSTD_inBuffer ib{in_.data() + in_pos_, avail, 0};
      ZSTD_outBuffer ob{buf, n, 0};
      size_t rc = ZSTD_decompressStream(c.zs, &ob, &ib);
      in_pos_ += ib.pos;
      if (ZSTD_isError(rc))
        return fail(invalid("layer: zstd data is corrupt ({})", ZSTD_getErrorName(rc)));
      if (rc == 0) frame_open_ = false;
      if (ob.pos > 0) return ob.pos;
    }
  }
}

Result<size_t> DecompressReader::read(char* buf, size_t n) {
  if (out_eof_) return size_t{0};
  if (!detected_) {
    while (in_.size() < 4 && !in_eof_) BERTH_CHECK(fill());
    const auto* b = reinterpret_cast<const unsigned char*>(in_.data());
    if (in_.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
      kind_ = Compression::kGzip;
      if (inflateInit2(&codec_->z, 15 + 16) != Z_OK) return fail(invalid("zlib init failed"));
      codec_->z_init = true;
    } else if (in_.size() >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
      kind_ = Compression::kZstd;
      codec_->zs = ZSTD_createDStream();
      if (!codec_->zs) return fail(invalid("zstd init failed"));
    }
    detected_ = true;
  }
  size_t got = 0;
  if (kind_ == Compression::kNone) {
    if (in_pos_ == in_.size()) BERTH_CHECK(fill());
    got = std::min(n, in_.size() - in_pos_);
    memcpy(buf, in_.data() + in_pos_, got);
    in_pos_ += got;
  } else {
    got = BERTH_TRY(inflate_some(buf, n));
  }
  if (got == 0) out_eof_ = true;
  out_hash_.update(buf, got);
  out_total_ += static_cast<int64_t>(got);
  return got;
}

Result<void> DecompressReader::drain() {
  std::string sink(1 << 17, '\0');
  while (BERTH_TRY(read(sink.data(), sink.size())) > 0) {
  }
  // Bytes after the end of the compressed stream still belong to the blob.
  while (!in_eof_) {
    in_.clear();
    in_pos_ = 0;
    BERTH_CHECK(fill());
  }
  return {};
}

Digest DecompressReader::compressed_digest() { return in_hash_.finish(); }
Digest DecompressReader::uncompressed_digest() { return out_hash_.finish(); }

}  // namespace berth::image
