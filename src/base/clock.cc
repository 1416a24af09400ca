#include "base/clock.h"

#include <fmt/format.h>
#include <time.h>

#include <chrono>

namespace berth::clock {

namespace {

// Calendar fields from the date arithmetic of <chrono>: unlike gmtime_r, nothing reads the
// time zone database (glibc opens it even for UTC).
struct Civil {
  int year;
  unsigned month, day, hour, minute, second;
};

Civil civil(int64_t unix_seconds) {
  using namespace std::chrono;
  sys_seconds t{seconds{unix_seconds}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<unsigned>(hms.hours().count()),
          static_cast<unsigned>(hms.minutes().count()),
          static_cast<unsigned>(hms.seconds().count())};
}

}  // namespace

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::string rfc3339_nano(int64_t ns) {
  int64_t s = ns / 1000000000, frac = ns % 1000000000;
  if (frac < 0) {
    s -= 1;
    frac += 1000000000;
  }
  Civil c = civil(s);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, frac);
}

std::string now_rfc3339_nano() { return rfc3339_nano(now_ns()); }

std::string rfc3339_seconds(int64_t unix_seconds) {
  Civil c = civil(unix_seconds);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second);
}

std::string now_rfc3339_seconds() { return rfc3339_seconds(now_ns() / 1000000000); }

}  // namespace berth::clock
