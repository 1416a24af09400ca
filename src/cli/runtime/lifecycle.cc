// create, start, run, delete, kill.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/runtime/app.h"
#include "runtime/bundle.h"
#include "runtime/console.h"
#include "sys/syscalls.h"

namespace berth::cli {
namespace {

struct CreateFlags {
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

void add_create_flags(CLI::App* sub, CreateFlags& f) {
  sub->add_option("-b,--bundle", f.bundle, "bundle directory holding config.json (default: .)");
  sub->add_option("--pid-file", f.pid_file, "write the container init's pid to this file");
  sub->add_option("--console-socket", f.console_socket,
                  "AF_UNIX socket that receives the pty master when process.terminal is true");
  sub->add_flag("--no-pivot", f.no_pivot,
                "enter the rootfs with MS_MOVE and chroot instead of pivot_root (for a rootfs "
                "on a ramdisk)");
  sub->add_flag("--no-new-keyring", f.no_new_keyring,
                "do not give the container a new session keyring");
  sub->add_option("--preserve-fds", f.preserve_fds,
                  "pass this many fds after stdio (3, 4, ...) to the container")
      ->check(CLI::NonNegativeNumber);
}

Result<runtime::CreateOptions> options(const RuntimeContext& ctx, const CreateFlags& f,
                                       const runtime::Bundle& b) {
  runtime::CreateOptions o;
  o.bundle = b.dir;
  o.config_json = b.config_text;
  o.pid_file = f.pid_file;
  if (!o.pid_file.empty() && o.pid_file.front() != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) o.pid_file = std::string(cwd) + "/" + o.pid_file;
  }
  o.console_socket = f.console_socket;
  o.no_pivot = f.no_pivot;
  o.no_new_keyring = f.no_new_keyring;
  o.preserve_fds = f.preserve_fds;
  o.systemd_cgroup = ctx.g.systemd_cgroup;
  return o;
}

int g_forward_pidfd = -1;

void forward_signal(int sig) {
  if (g_forward_pidfd >= 0) sys::pidfd_send_signal(g_forward_pidfd, sig);
}

}  // namespace

void add_lifecycle_verbs(CLI::App& app, RuntimeContext& ctx) {
  // create
  {
    auto* sub = app.add_subcommand("create",
                                   "create a container: set it up and leave its "
                                   "process waiting for `start`");
    auto f = std::make_shared<CreateFlags>();
    auto id = std::make_shared<std::string>();
    add_create_flags(sub, *f);
    sub->add_option("container-id", *id, "the new container's id")->required();
    on_run(sub, [&ctx, f, id]() -> Result<int> {
      runtime::Bundle b = BERTH_TRY(runtime::load_bundle(f->bundle));
      auto h = BERTH_TRY(ctx.handler_for_spec(b.spec));
      runtime::CreateOptions o = BERTH_TRY(options(ctx, *f, b));
      BERTH_CHECK(h->create(*id, b.spec, o));
      return 0;
    });
  }
  // start
  {
    auto* sub = app.add_subcommand("start", "run the user program of a created container");
    auto id = std::make_shared<std::string>();
    sub->add_option("container-id", *id, "the container")->required();
    on_run(sub, [&ctx, id]() -> Result<int> {
      auto h = BERTH_TRY(ctx.handler_for(*id));
      BERTH_CHECK(h->start(*id));
      return 0;
    });
  }
  // run
  {
    auto* sub = app.add_subcommand(
        "run",
        "create and start a container; without --detach, wait for it, pass signals to "
        "it, delete it and exit with its exit code");
    auto f = std::make_shared<CreateFlags>();
    auto id = std::make_shared<std::string>();
    auto detach = std::make_shared<bool>(false);
    auto keep = std::make_shared<bool>(false);
    add_create_flags(sub, *f);
    sub->add_flag("-d,--detach", *detach, "return once the container runs");
    sub->add_flag("--keep", *keep, "do not delete the container after it exits");
    sub->add_flag("--no-subreaper")->description("accepted for runc compatibility");
    sub->add_option("container-id", *id, "the new container's id")->required();
    on_run(sub, [&ctx, f, id, detach, keep]() -> Result<int> {
      runtime::Bundle b = BERTH_TRY(runtime::load_bundle(f->bundle));
      auto h = BERTH_TRY(ctx.handler_for_spec(b.spec));
      runtime::CreateOptions o = BERTH_TRY(options(ctx, *f, b));
      // A terminal in the foreground without a console socket: this process relays it.
      UniqueFd mine, theirs;
      bool relay = b.spec.process && b.spec.process->terminal && o.console_socket.empty();
      if (relay) {
        if (*detach) return fail(invalid("process.terminal with --detach needs --console-socket"));
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
          return fail(sys_error(errno, "socketpair"));
        mine.reset(sv[0]);
        theirs.reset(sv[1]);
        o.console_fd = theirs.get();
      }
      o.start = true;
      BERTH_CHECK(h->create(*id, b.spec, o));
      UniqueFd master;
      if (relay) {
        theirs.reset();
        auto m = runtime::recv_fd(mine.get());
        if (!m) {
          (void)h->remove(*id, true);
          return fail(std::move(m.error()));
        }
        master = std::move(*m);
      }
      oci::State st = BERTH_TRY(runtime::start_unless_started(*h, *id));
      if (*detach) return 0;
      g_forward_pidfd = sys::pidfd_open(st.pid);
      struct sigaction sa {};
      sa.sa_handler = forward_signal;
      for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
        ::sigaction(s, &sa, nullptr);
      if (master) runtime::relay_console(master.get());
      Result<int> code = h->wait(*id);
      if (!*keep) (void)h->remove(*id, true);
      return code;
    });
  }
  // delete
  {
    auto* sub =
        app.add_subcommand("delete",
                           "delete a container and what create made for it (a created container is "
                           "killed first; a running one needs --force)");
    auto id = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    sub->add_flag("-f,--force", *force, "kill a running container with SIGKILL, then delete it");
    sub->add_option("container-id", *id, "the container")->required();
    on_run(sub, [&ctx, id, force]() -> Result<int> {
      auto h = BERTH_TRY(ctx.handler_for(*id));
      BERTH_CHECK(h->remove(*id, *force));
      return 0;
    });
  }
  // kill
  {
    auto* sub = app.add_subcommand("kill", "send a signal to a container's init process");
    auto id = std::make_shared<std::string>();
    auto sig = std::make_shared<std::string>("TERM");
    auto all = std::make_shared<bool>(false);
    sub->add_flag("-a,--all", *all, "signal every process of the container (its cgroup)");
    sub->add_option("container-id", *id, "the container")->required();
    sub->add_option("signal", *sig, "signal name or number (default TERM)");
    on_run(sub, [&ctx, id, sig, all]() -> Result<int> {
      int s = BERTH_TRY(parse_signal(*sig));
      auto h = BERTH_TRY(ctx.handler_for(*id));
      BERTH_CHECK(h->kill(*id, s, *all));
      return 0;
    });
  }
}

}  // namespace berth::cli
