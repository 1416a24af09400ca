// berth-dynamic, for the work the static berth cannot do itself (base/dynlib.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "base/dynlib.h"
#include "base/path.h"
#include "base/unique_fd.h"

namespace berth::dynlib {

namespace {

Result<UniqueFd> memfd(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "memfd_create {}", name));
  return fd;
}

Result<std::string> read_from_start(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
  if (n < 0) return fail(sys_error(errno, "read berth-dynamic's output"));
  return out;
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  return av;
}

}  // namespace

std::string dynamic_binary() {
  if (const char* e = getenv("BERTH_DYNAMIC"); e && *e) return e;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? path::dirname(std::string(self, static_cast<size_t>(n))) : ".";
  return path::join(dir, "berth-dynamic");
}

Error exec_dynamic(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::string bin = dynamic_binary();
  if (args.empty()) args.push_back(bin);
  args.front() = bin;
  ::execv(bin.c_str(), c_argv(args).data());
  return sys_error(errno, "run {} (for the work this static berth cannot do)", bin);
}

Result<std::string> run_dynamic(const std::vector<std::string>& args, std::string_view input) {
  // stdin, stdout and stderr are memfds: no pipe to keep flowing in both directions.
  UniqueFd in = BERTH_TRY(memfd("berth-dynamic-in"));
  UniqueFd out = BERTH_TRY(memfd("berth-dynamic-out"));
  UniqueFd err = BERTH_TRY(memfd("berth-dynamic-err"));
  for (size_t done = 0; done < input.size();) {
    ssize_t n = ::write(in.get(), input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(sys_error(errno, "write berth-dynamic's input"));
    done += static_cast<size_t>(n);
  }
  std::vector<std::string> argv{dynamic_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> av = c_argv(argv);
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork"));
  if (pid == 0) {
    ::lseek(in.get(), 0, SEEK_SET);
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) _exit(127);
    ::execv(av[0], av.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fail(sys_error(errno, "wait for {}", argv[0]));
  std::string text = BERTH_TRY(read_from_start(out.get()));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return text;
  std::string why = BERTH_TRY(read_from_start(err.get()));
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  if (size_t nl = why.rfind('\n'); nl != std::string::npos) why = why.substr(nl + 1);
  if (why.starts_with("berth: ")) why = why.substr(7);
  if (why.empty())
    why = WIFEXITED(status) ? fmt::format("{} exited with {}", argv[0], WEXITSTATUS(status))
                            : fmt::format("{} was killed", argv[0]);
  return fail(make_error(ErrorKind::kSystem, "{}", why));
}

}  // namespace berth::dynlib
