#include "engine/logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/strings.h"

namespace berth::engine {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::string rfc3339_nano(int64_t ns) { return clock::rfc3339_nano(ns); }

namespace {

int64_t parse_rfc3339(std::string_view s) {
  tm t{};
  int frac_digits = 0;
  int64_t frac = 0;
  if (s.size() < 20) return -1;
  auto num = [&](size_t pos, size_t len) { return parse_int(s.substr(pos, len)).value_or(-1); };
  t.tm_year = static_cast<int>(num(0, 4)) - 1900;
  t.tm_mon = static_cast<int>(num(5, 2)) - 1;
  t.tm_mday = static_cast<int>(num(8, 2));
  t.tm_hour = static_cast<int>(num(11, 2));
  t.tm_min = static_cast<int>(num(14, 2));
  t.tm_sec = static_cast<int>(num(17, 2));
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) {
      if (frac_digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++frac_digits;
      }
      ++i;
    }
  }
  while (frac_digits < 9) {
    frac *= 10;
    ++frac_digits;
  }
  time_t secs = timegm(&t);
  if (secs < 0) return -1;
  return int64_t{secs} * 1000000000 + frac;
}

}  // namespace

Result<int64_t> parse_since(std::string_view s) {
  if (s.size() >= 20 && s[4] == '-') {
    int64_t v = parse_rfc3339(s);
    if (v < 0) return fail(invalid("--since {:?}: not a time like 2026-01-02T15:04:05Z", s));
    return v;
  }
  if (auto n = parse_int(s)) return *n * 1000000000;  // unix seconds
  size_t i = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i;
  auto n = parse_uint(s.substr(0, i));
  std::string_view unit = s.substr(i);
  int64_t mult = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (!n || !mult)
    return fail(invalid("--since {:?}: expected an RFC 3339 time, unix seconds or 10s/5m/2h", s));
  return now_ns() - static_cast<int64_t>(*n) * mult * 1000000000;
}

Result<LogWriter> LogWriter::open(std::string path, int64_t max_size, int max_files) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return fail(sys_error(errno, "open log {}", path));
  struct stat st {};
  ::fstat(fd.get(), &st);
  return LogWriter(std::move(path), max_size, std::max(1, max_files), std::move(fd), st.st_size);
}

void LogWriter::emit(std::string_view stream, std::string_view line) {
  std::string rec = fmt::format("{{\"log\":{},\"stream\":\"{}\",\"time\":\"{}\"}}\n",
                                json_quote(line), stream, rfc3339_nano(now_ns()));
  if (max_size_ > 0 && size_ > 0 && size_ + static_cast<int64_t>(rec.size()) > max_size_) rotate();
  ssize_t n = ::write(fd_.get(), rec.data(), rec.size());
  if (n > 0) size_ += n;
}

void LogWriter::rotate() {
  if (max_files_ <= 1) {
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  for (int i = max_files_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? path_ : fmt::format("{}.{}", path_, i - 1);
    ::rename(from.c_str(), fmt::format("{}.{}", path_, i).c_str());
  }
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  size_ = 0;
}

void LogWriter::write(std::string_view stream, std::string_view data) {
  std::string& pending = stream == "stderr" ? pending_err_ : pending_out_;
  pending.append(data);
  size_t start = 0;
  while (true) {
    size_t nl = pending.find('\n', start);
    if (nl == std::string::npos) break;
    emit(stream, std::string_view(pending).substr(start, nl - start + 1));
    start = nl + 1;
  }
  pending.erase(0, start);
  // Very long lines are cut into 16 KB records, as Docker does.
  while (pending.size() >= 16384) {
    emit(stream, std::string_view(pending).substr(0, 16384));
    pending.erase(0, 16384);
  }
}

void LogWriter::flush() {
  if (!pending_out_.empty()) emit("stdout", pending_out_);
  if (!pending_err_.empty()) emit("stderr", pending_err_);
  pending_out_.clear();
  pending_err_.clear();
}

namespace {

std::optional<LogLine> parse_line(std::string_view l) {
  auto j = nlohmann::json::parse(l, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  LogLine out;
  out.text = j.value("log", "");
  out.stream = j.value("stream", "stdout");
  out.time = j.value("time", "");
  out.time_ns = parse_rfc3339(out.time);
  return out;
}

}  // namespace

Result<void> read_logs(const std::string& path, int max_files, const LogQuery& q,
                       const std::function<void(const LogLine&)>& emit,
                       const std::function<bool()>& stop) {
  std::deque<LogLine> tail;
  auto take = [&](const LogLine& l) {
    if (l.time_ns < q.since_ns) return;
    if (q.tail < 0) {
      emit(l);
      return;
    }
    tail.push_back(l);
    if (static_cast<int64_t>(tail.size()) > q.tail) tail.pop_front();
  };
  // Oldest rotated file first.
  for (int i = std::max(1, max_files) - 1; i >= 1; --i) {
    std::string p = fmt::format("{}.{}", path, i);
    FILE* f = fopen(p.c_str(), "re");
    if (!f) continue;
    char* line = nullptr;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
      if (auto l = parse_line(line)) take(*l);
    free(line);
    fclose(f);
  }
  FILE* f = fopen(path.c_str(), "re");
  if (!f) {
    if (errno == ENOENT && !q.follow) return {};
    if (errno != ENOENT) return fail(sys_error(errno, "open log {}", path));
  }
  std::string partial;
  auto read_available = [&]() {
    if (!f) return;
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
      partial.append(line, static_cast<size_t>(n));
      if (partial.back() != '\n') continue;
      if (auto l = parse_line(partial)) take(*l);
      partial.clear();
    }
    free(line);
    clearerr(f);
  };
  read_available();
  for (const auto& l : tail) emit(l);
  tail.clear();
  if (q.follow) {
    ino_t ino = 0;
    struct stat st {};
    if (f && fstat(fileno(f), &st) == 0) ino = st.st_ino;
    while (!stop()) {
      usleep(100 * 1000);
      // Rotated away: switch to the new file.
      struct stat now {};
      if (::stat(path.c_str(), &now) == 0 && now.st_ino != ino) {
        read_available();
        if (f) fclose(f);
        f = fopen(path.c_str(), "re");
        ino = now.st_ino;
      }
      if (!f) f = fopen(path.c_str(), "re");
      char* line = nullptr;
      size_t cap = 0;
      ssize_t n;
      while (f && (n = getline(&line, &cap, f)) > 0) {
        partial.append(line, static_cast<size_t>(n));
        if (partial.back() != '\n') continue;
        if (auto l = parse_line(partial); l && l->time_ns >= q.since_ns) emit(*l);
        partial.clear();
      }
      free(line);
      if (f) clearerr(f);
    }
  }
  if (f) fclose(f);
  return {};
}

}  // namespace berth::engine
