#include "base/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace berth::trace {
namespace {

struct Mark {
  const char* what;
  int64_t ns;
};
constexpr int kMax = 96;
Mark g_marks[kMax];
std::atomic<int> g_count{0};
int64_t g_origin = 0;
// -1 unknown, 0 off, 1 on.
int g_state = -1;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void dump() {
  int n = g_count.load() < kMax ? g_count.load() : kMax;
  int64_t origin = g_origin != 0 ? g_origin : (n > 0 ? g_marks[0].ns : 0);
  int64_t prev = origin;
  // One write for the whole list: the dump should not add to what it measures.
  static char buf[kMax * 96];
  size_t len = 0;
  for (int i = 0; i < n; ++i) {
    int k = snprintf(buf + len, sizeof buf - len, "trace %8.3f ms  +%7.3f  %s\n",
                     static_cast<double>(g_marks[i].ns - origin) / 1e6,
                     static_cast<double>(g_marks[i].ns - prev) / 1e6, g_marks[i].what);
    if (k < 0 || static_cast<size_t>(k) >= sizeof buf - len) break;
    len += static_cast<size_t>(k);
    prev = g_marks[i].ns;
  }
  (void)!write(2, buf, len);
}

}  // namespace

void mark(const char* what) {
  if (g_state == 0) return;
  if (g_state < 0) {
    const char* e = getenv("BERTH_TRACE");
    g_state = e != nullptr && *e != '\0' ? 1 : 0;
    if (g_state == 0) return;
    g_origin = strtoll(e, nullptr, 10);
    if (g_origin < 1000000000000000000) g_origin = 0;
    atexit(dump);
  }
  int i = g_count.fetch_add(1);
  if (i < kMax) g_marks[i] = {what, now_ns()};
}

}  // namespace berth::trace
