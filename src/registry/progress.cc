#include "registry/progress.h"

#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

namespace berth::registry {
namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

std::string human_bytes(int64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", n) : fmt::format("{:.1f}{}", v, units[u]);
}

Progress::Progress(bool enabled, int fd) : enabled_(enabled), fd_(fd), start_ms_(now_ms()) {
  if (enabled_) thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() { stop(); }

int Progress::add(std::string label, int64_t total) {
  std::lock_guard l(mu_);
  auto r = std::make_unique<Row>();
  r->label = std::move(label);
  r->total = total;
  rows_.push_back(std::move(r));
  return static_cast<int>(rows_.size() - 1);
}

void Progress::set_done(int row, int64_t bytes) {
  std::lock_guard l(mu_);
  if (row >= 0 && static_cast<size_t>(row) < rows_.size()) rows_[row]->done = bytes;
}

void Progress::set_state(int row, std::string state) {
  std::lock_guard l(mu_);
  if (row >= 0 && static_cast<size_t>(row) < rows_.size()) rows_[row]->state = std::move(state);
}

void Progress::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Progress::loop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, std::chrono::milliseconds(200));
    l.unlock();
    draw(false);
    l.lock();
  }
  l.unlock();
  draw(true);
}

void Progress::draw(bool last) {
  std::lock_guard l(mu_);
  std::string out;
  if (drawn_lines_) out += fmt::format("\x1b[{}A", drawn_lines_);
  double secs = std::max(0.001, static_cast<double>(now_ms() - start_ms_) / 1000.0);
  int64_t all = 0;
  for (const auto& r : rows_) {
    int64_t d = r->done;
    all += d;
    std::string bar;
    if (r->total > 0) {
      int w = static_cast<int>(20 * std::min<int64_t>(d, r->total) / r->total);
      bar = "[" + std::string(static_cast<size_t>(w), '=') + std::string(20 - w, ' ') + "] ";
    }
    out += fmt::format("\x1b[2K{}: {:<12} {}{} / {}\n", r->label, r->state, bar, human_bytes(d),
                       human_bytes(r->total));
  }
  out += fmt::format("\x1b[2K{} in {:.1f}s ({}/s){}\n", human_bytes(all), secs,
                     human_bytes(static_cast<int64_t>(static_cast<double>(all) / secs)),
                     last ? "" : "");
  drawn_lines_ = rows_.size() + 1;
  ssize_t ignored = write(fd_, out.data(), out.size());
  (void)ignored;
}

}  // namespace berth::registry
