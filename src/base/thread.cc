#include "base/thread.h"

#include <cerrno>
#include <new>

namespace berth {

bool HeapStackThread::start(std::function<void()> fn) {
  join();
  fn_ = std::move(fn);
  stack_.reset(new (std::nothrow) char[kStack]);
  if (!stack_) {
    errno = ENOMEM;
    return false;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack_.get(), kStack);
  int e = pthread_create(&thread_, &attr, &HeapStackThread::main, this);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    errno = e;
    return false;
  }
  running_ = true;
  return true;
}

void HeapStackThread::join() {
  if (running_) pthread_join(thread_, nullptr);
  running_ = false;
}

void* HeapStackThread::main(void* self) {
  static_cast<HeapStackThread*>(self)->fn_();
  return nullptr;
}

}  // namespace berth
