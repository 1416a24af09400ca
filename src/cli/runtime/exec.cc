// exec: run a process in a running container, as runc's exec (flags or --process FILE).
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "cli/runtime/app.h"
#include "runtime/console.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  std::string process_file;
  bool tty = false;
  std::string console_socket;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  bool detach = false;
  std::string pid_file;
  int preserve_fds = 0;
  std::string id;
};

// The process to run: --process FILE as it is, or the container's own process with the
// flags applied (the command from the arguments).
Result<oci::Process> build_process(const RuntimeContext& ctx, const ExecFlags& f,
                                   const std::vector<std::string>& command) {
  if (!f.process_file.empty()) {
    std::string text = BERTH_TRY(file::read(f.process_file));
    auto p = oci::parse_process(text);
    if (!p) return fail(std::move(p.error()).wrap(fmt::format("--process {}", f.process_file)));
    return *p;
  }
  std::string cfg = BERTH_TRY(file::read(path::join(ctx.store().dir(f.id), "config.json")));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(cfg));
  oci::Process p = spec.process.value_or(oci::Process{});
  if (command.empty()) return fail(invalid("exec: no command given (or use --process FILE)"));
  p.args = command;
  p.terminal = f.tty;
  p.console_size.reset();
  if (!f.cwd.empty()) p.cwd = f.cwd;
  for (const auto& e : f.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(p.env, [&](const std::string& x) { return x.rfind(key + "=", 0) == 0; });
    p.env.push_back(e);
  }
  if (!f.user.empty()) {
    std::vector<std::string> ug = split(f.user, ':');
    auto uid = parse_uint(ug[0]);
    auto gid = ug.size() > 1 ? parse_uint(ug[1]) : std::optional<uint64_t>(0);
    if (!uid || !gid || ug.size() > 2 || *uid > UINT32_MAX || *gid > UINT32_MAX)
      return fail(invalid("--user {:?}: expected UID[:GID] (numbers)", f.user));
    p.user.uid = static_cast<uint32_t>(*uid);
    p.user.gid = static_cast<uint32_t>(*gid);
    p.user.additional_gids.clear();
  }
  for (uint32_t g : f.additional_gids) p.user.additional_gids.push_back(g);
  if (!f.caps.empty()) {
    if (!p.capabilities) p.capabilities = oci::Capabilities{};
    for (const auto& c : f.caps) {
      int n = BERTH_TRY(oci::capability_from_name(c));
      uint64_t bit = 1ULL << n;
      p.capabilities->bounding |= bit;
      p.capabilities->effective |= bit;
      p.capabilities->permitted |= bit;
    }
  }
  if (f.no_new_privs) p.no_new_privileges = true;
  return p;
}

}  // namespace

void add_exec_verb(CLI::App& app, RuntimeContext& ctx) {
  auto* sub = app.add_subcommand(
      "exec", "run a new process inside a running container (its namespaces and cgroup)");
  auto f = std::make_shared<ExecFlags>();
  sub->add_option("-p,--process", f->process_file,
                  "a process object (config.json's process) as a JSON file; flags are ignored");
  sub->add_flag("-t,--tty", f->tty, "give the process a terminal");
  sub->add_option("--console-socket", f->console_socket,
                  "AF_UNIX socket that receives the pty master (with --tty)");
  sub->add_option("--cwd", f->cwd, "working directory in the container");
  sub->add_option("-e,--env", f->env, "set an environment variable NAME=VALUE (repeatable)");
  sub->add_option("-u,--user", f->user, "UID[:GID] to run as");
  sub->add_option("-g,--additional-gids", f->additional_gids, "additional group ids");
  sub->add_option("-c,--cap", f->caps, "add a capability (repeatable), e.g. CAP_NET_ADMIN");
  sub->add_flag("--no-new-privs", f->no_new_privs, "set no_new_privs for the process");
  sub->add_flag("-d,--detach", f->detach, "return once the process runs");
  sub->add_option("--pid-file", f->pid_file, "write the process's pid to this file");
  sub->add_option("--preserve-fds", f->preserve_fds,
                  "pass this many fds after stdio to the process")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--process-label,--apparmor,--cgroup")
      ->description(
          "accepted for runc compatibility (no SELinux/AppArmor here; the "
          "container's cgroup is always used)");
  sub->add_flag("--ignore-paused")->description("accepted for runc compatibility");
  sub->add_option("container-id", f->id, "the container")->required();
  auto command = std::make_shared<std::vector<std::string>>();
  // Everything after the container id belongs to the command, options included (and no
  // fallthrough to the global options, which would take the words instead).
  sub->prefix_command();
  sub->fallthrough(false);
  sub->footer(
      "The command and its arguments follow the container id (use -- before them if "
      "they start with '-').");
  on_run(sub, [&ctx, f, sub, command]() -> Result<int> {
    std::vector<std::string> cmd = *command;
    for (auto& r : sub->remaining()) cmd.push_back(r);
    if (!cmd.empty() && cmd.front() == "--") cmd.erase(cmd.begin());
    const std::vector<std::string>& command = cmd;
    runtime::ExecOptions o;
    o.process = BERTH_TRY(build_process(ctx, *f, command));
    o.console_socket = f->console_socket;
    o.pid_file = f->pid_file;
    if (!o.pid_file.empty() && o.pid_file.front() != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof cwd)) o.pid_file = std::string(cwd) + "/" + o.pid_file;
    }
    o.preserve_fds = f->preserve_fds;
    o.detach = f->detach;
    auto h = BERTH_TRY(ctx.handler_for(f->id));
    // A terminal in the foreground without a console socket: relay it here.
    if (o.process.terminal && o.console_socket.empty() && !o.detach) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fail(sys_error(errno, "socketpair"));
      UniqueFd mine(sv[0]), theirs(sv[1]);
      o.console_fd = theirs.get();
      o.detach = true;
      int pid = BERTH_TRY(h->exec(f->id, o));
      theirs.reset();
      UniqueFd master = BERTH_TRY(runtime::recv_fd(mine.get()));
      runtime::relay_console(master.get());
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    int r = BERTH_TRY(h->exec(f->id, o));
    return o.detach ? 0 : r;
  });
}

}  // namespace berth::cli
