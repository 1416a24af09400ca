#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "runtime/process.h"

namespace berth::runtime {
namespace {

// Whether fd reaches end of file within ms.
bool eof_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  char c;
  return ::read(fd, &c, 1) == 0;
}

std::string cmdline(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  return {std::istreambuf_iterator<char>(f), {}};
}

// `exec --detach` reports the process as running when the held fd closes: that must happen at
// the exec of the user's program, not at the helper's own start (nor never: the fd would then
// live on inside the container).
TEST(ExecHelper, HeldFdClosesAtTheUsersExec) {
  int fifo[2], hold[2];
  ASSERT_EQ(::pipe2(fifo, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The helper gets the fifo's read end and the hold pipe's write end, both inheritable.
    int f = ::fcntl(fifo[0], F_DUPFD, 10), h = ::fcntl(hold[1], F_DUPFD, 11);
    auto helper = make_exec_helper();
    if (!helper) ::_exit(98);
    auto r = exec_via_helper(helper->get(), f, -1, 0, h, "/bin/sleep", {"sleep", "30"}, {});
    ::_exit(r ? 0 : 99);
  }
  ::close(fifo[0]);
  ::close(hold[1]);
  // Waiting for `start`: the helper runs but the user's program does not yet.
  EXPECT_FALSE(eof_within(hold[0], 300));
  EXPECT_EQ(cmdline(pid).rfind("berth-exec", 0), 0u) << cmdline(pid);
  ASSERT_EQ(::write(fifo[1], "x", 1), 1);
  EXPECT_TRUE(eof_within(hold[0], 5000));
  EXPECT_EQ(cmdline(pid), std::string("sleep\0"
                                      "30\0",
                                      9));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(fifo[1]);
  ::close(hold[0]);
}

}  // namespace
}  // namespace berth::runtime
