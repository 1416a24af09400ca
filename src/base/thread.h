// A short thread whose stack is a block of the heap.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace berth {

// berth's heap is on a transparent huge page that is there already (base/huge_heap.h), so a
// stack carved from it costs no page faults; a default thread's fresh 8 MiB mapping cost a
// mmap, a munmap and a ~10 us fault per stack page it touched. For short jobs that run
// alongside the main thread (spawn.cc's cgroup maker).
// No guard page: keep the job's stack use well below kStack.
class HeapStackThread {
 public:
  static constexpr size_t kStack = size_t{256} << 10;

  HeapStackThread() = default;
  HeapStackThread(const HeapStackThread&) = delete;
  HeapStackThread& operator=(const HeapStackThread&) = delete;
  ~HeapStackThread() { join(); }

  // Runs fn on a new thread. False (errno set, fn not run) when none could be started.
  bool start(std::function<void()> fn);
  // Waits for the thread, if one runs. Safe to call more than once.
  void join();
  bool running() const { return running_; }

 private:
  static void* main(void* self);
  std::function<void()> fn_;
  std::unique_ptr<char[]> stack_;
  pthread_t thread_{};
  bool running_ = false;
};

}  // namespace berth
