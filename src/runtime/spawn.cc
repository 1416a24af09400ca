#include "runtime/spawn.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/defer.h"
#include "runtime/namespaces.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {

Result<pid_t> spawn(InitArgs args, cgroup::Manager* cg, const SpawnHooks& hooks) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(sys_error(errno, "socketpair"));
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  args.sync_fd = child_end.get();

  // One process instead of two when nothing needs stage 1 (see direct_clone_ok): the
  // container's init is cloned straight into its new namespaces, saving a fork, an exit and
  // a wait on every create.
  bool direct = args.mode == InitArgs::Mode::kCreate && direct_clone_ok(args.spec->linux);
  struct clone_args ca {};
  ca.exit_signal = SIGCHLD;
  if (direct)
    ca.flags = static_cast<uint64_t>(new_namespace_flags(args.spec->linux) & ~CLONE_NEWCGROUP);
  pid_t stage1 = sys::clone3(&ca);
  if (stage1 < 0 && errno == ENOSYS) {
    direct = false;
    stage1 = ::fork();
  }
  if (stage1 < 0) return fail(sys_error(errno, "fork"));
  if (stage1 == 0) {
    parent_end.reset();
    if (direct) direct_init_main(args);
    stage1_main(args);
  }
  child_end.reset();
  pid_t init = -1;
  Defer undo([&] {
    if (init > 0) ::kill(init, SIGKILL);
    if (stage1 > 0) ::kill(stage1, SIGKILL);
    if (stage1 > 0) ::waitpid(stage1, nullptr, 0);
    if (init > 0 && init != stage1) ::waitpid(init, nullptr, 0);
  });
  int sfd = parent_end.get();
  if (cg) BERTH_CHECK_CTX(cg->add(stage1), "join cgroup {}", cg->path());
  BERTH_CHECK(sync::send(sfd, sync::Type::kGo));
  while (true) {
    auto m = sync::recv(sfd);
    if (!m) {
      if (m.error().kind() == ErrorKind::kNotFound)
        return fail(make_error(ErrorKind::kInternal, "the container process exited during setup"));
      return fail(std::move(m.error()));
    }
    switch (m->type) {
      case sync::Type::kError:
        return fail(sync::error_from(*m));
      case sync::Type::kUsernsReady:
        BERTH_CHECK(write_id_mappings(static_cast<pid_t>(m->value), args.spec->linux));
        BERTH_CHECK(sync::send(sfd, sync::Type::kUsernsMapped));
        break;
      case sync::Type::kInitPid:
        // 0: the process we cloned is the init itself (the direct path).
        init = m->value > 0 ? static_cast<pid_t>(m->value) : stage1;
        if (init != stage1) {
          ::waitpid(stage1, nullptr, 0);
          stage1 = -1;
        }
        break;
      case sync::Type::kBeforePivot:
        if (hooks.before_pivot) BERTH_CHECK(hooks.before_pivot(init));
        BERTH_CHECK(sync::send(sfd, sync::Type::kContinue));
        break;
      case sync::Type::kSeccompFd:
        if (!m->fd) return fail(make_error(ErrorKind::kInternal, "seccomp fd message without fd"));
        if (hooks.seccomp_fd) BERTH_CHECK(hooks.seccomp_fd(init, m->fd.get()));
        break;
      case sync::Type::kReady: {
        // With startContainer hooks the init waits for `start` itself, still holding the
        // socket: Ready is all there is to see.
        if (args.mode == InitArgs::Mode::kCreate && !args.spec->hooks.start_container.empty()) {
          undo.dismiss();
          return init;
        }
        // The socket is close-on-exec: end of file means the helper runs; a message means
        // the exec failed.
        auto after = sync::recv(sfd);
        if (after) {
          if (after->type == sync::Type::kError) return fail(sync::error_from(*after));
          return fail(make_error(ErrorKind::kInternal, "sync: unexpected message after ready"));
        }
        if (after.error().kind() != ErrorKind::kNotFound) return fail(std::move(after.error()));
        undo.dismiss();
        return init;
      }
      default:
        return fail(make_error(ErrorKind::kInternal, "sync: unexpected message {}",
                               static_cast<uint32_t>(m->type)));
    }
  }
}

}  // namespace berth::runtime
