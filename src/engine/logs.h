// Container logs in Docker's json-file format: one JSON object per line,
// {"log":"...\n","stream":"stdout","time":"RFC3339Nano"}, rotated by size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::engine {

class LogWriter {
 public:
  // max_size 0: never rotate; max_files >= 1 counts the current file.
  static Result<LogWriter> open(std::string path, int64_t max_size, int max_files);
  // Appends complete lines; a partial line waits for its end (or flush()).
  void write(std::string_view stream, std::string_view data);
  void flush();

 private:
  LogWriter(std::string path, int64_t max_size, int max_files, UniqueFd fd, int64_t size)
      : path_(std::move(path)),
        max_size_(max_size),
        max_files_(max_files),
        fd_(std::move(fd)),
        size_(size) {}
  void emit(std::string_view stream, std::string_view line);
  void rotate();

  std::string path_;
  int64_t max_size_;
  int max_files_;
  UniqueFd fd_;
  int64_t size_;
  std::string pending_out_, pending_err_;
};

struct LogLine {
  std::string stream;
  std::string time;  // RFC 3339 with nanoseconds
  std::string text;  // with its newline
  int64_t time_ns = 0;
};

struct LogQuery {
  int64_t tail = -1;     // last N lines (-1: all)
  int64_t since_ns = 0;  // only lines at or after
  bool follow = false;
};

// Reads the log (rotated files first) and calls emit for each line; with follow, keeps
// reading until stop() says to.
Result<void> read_logs(const std::string& path, int max_files, const LogQuery& q,
                       const std::function<void(const LogLine&)>& emit,
                       const std::function<bool()>& stop);

std::string rfc3339_nano(int64_t unix_ns);
int64_t now_ns();
// "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.5Z", or a relative "10m", "1h30m"? (plain
// durations: 10s, 5m, 2h) -> unix ns.
Result<int64_t> parse_since(std::string_view s);

}  // namespace berth::engine
