// Pull and push progress: on a terminal, one line per layer (bytes, rate, state) redrawn a few
// times a second; elsewhere nothing (quiet output for scripts and logs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::registry {

class Progress {
 public:
  // enabled: draw (the caller decides, usually isatty(2)). fd: where to draw.
  explicit Progress(bool enabled, int fd = 2);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  int add(std::string label, int64_t total);
  void set_done(int row, int64_t bytes);
  void set_state(int row, std::string state);
  void stop();  // draws a last time
  bool enabled() const { return enabled_; }

 private:
  struct Row {
    std::string label;
    std::string state = "waiting";
    int64_t total = 0;
    std::atomic<int64_t> done{0};
  };
  void draw(bool last);
  void loop();

  bool enabled_;
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Row>> rows_;
  size_t drawn_lines_ = 0;
  int64_t start_ms_ = 0;
  std::thread thread_;
};

std::string human_bytes(int64_t n);

}  // namespace berth::registry
