// The store's SQLite database (image/db.h).
#include "image/db.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>

#include "image/support/image_support.h"

namespace berth::test {
namespace {

// Page faults this thread takes while f runs (the traps, as `perf stat -e page-faults`
// counts them), or -1 where perf events are not available.
long faults_during(const std::function<void()>& f) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_PAGE_FAULTS;
  attr.disabled = 1;
  int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  if (fd < 0) return -1;
  ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  f();
  ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  uint64_t n = 0;
  if (read(fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) n = 0;
  close(fd);
  return static_cast<long>(n);
}

TEST(Db, TheWalIndexIsMappedInOneGo) {
  // SQLite maps its WAL index (the -shm file, 8 pages) shared and writable, and a process
  // that opens the database alone rebuilds it, writing every page: Db::open makes them
  // present in one madvise instead of taking a page fault on each.
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's shadow memory faults in on first use";
#endif
  TempDir tmp("berth-test-db");
  std::string path = tmp.path() + "/t.db";
  auto use = [&] {
    auto db = image::Db::open(path);
    ASSERT_TRUE(db) << db.error().text();
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES(1)"));
  };
  {
    auto db = image::Db::open(path);
    ASSERT_TRUE(db) << db.error().text();
    ASSERT_TRUE(db->exec("CREATE TABLE t(x)"));
  }
  use();  // the code and heap this takes are mapped from now on
  long faults = faults_during(use);
  if (faults < 0) GTEST_SKIP() << "no perf events here";
  EXPECT_LT(faults, 5) << "page faults of an open and an insert";
}

}  // namespace
}  // namespace berth::test
