// How a `berth` process starts: the static binary's entry point (src/base/static/entry.c).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace berth::test {
namespace {

// Page faults (the traps the CPU takes, as `perf stat -e page-faults` counts them) of one
// `berth version`, with extra environment entries; -1 where perf events are refused. Not
// getrusage's ru_minflt: that also counts the pages a madvise(MADV_POPULATE_*) maps.
long faults_of_version(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("BERTH_NO_PREFAULT=", 0) != 0) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string bin = BERTH_CLI_BIN;
  char version[] = "version";
  char* argv[] = {bin.data(), version, nullptr};
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(126);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execve(bin.c_str(), argv, envp.data());
    _exit(127);
  }
  close(go[0]);
  // Counted from the exec on: the forked test process's own copy-on-write faults are not.
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_PAGE_FAULTS;
  attr.disabled = 1;
  attr.enable_on_exec = 1;
  int counter = static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, -1, -1, 0));
  if (write(go[1], "x", 1) != 1) ADD_FAILURE() << "start the child";
  close(go[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "berth version: " << status;
  uint64_t n = 0;
  if (counter < 0) return -1;  // no perf events here
  if (read(counter, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) n = 0;
  close(counter);
  return static_cast<long>(n);
}

TEST(BerthStartup, HotTextAndDataAreMappedBeforeGlibcStarts) {
#ifndef BERTH_CLI_PREFAULTS
  GTEST_SKIP() << "berth is linked without its entry point (no lld, or not static)";
#else
  // berth_entry maps the ordered text and the writable segments in one madvise each: a
  // command then takes ~50 fewer page faults than with BERTH_NO_PREFAULT=1, where they
  // fault in one by one (64 KiB of text at a time) as before.
  long with = faults_of_version({});
  long without = faults_of_version({"BERTH_NO_PREFAULT=1"});
  if (with < 0 || without < 0) GTEST_SKIP() << "no perf events here (perf_event_open refused)";
  EXPECT_LT(with + 30, without) << "faults with the entry's prefault " << with << ", without "
                                << without;
#endif
}

}  // namespace
}  // namespace berth::test
