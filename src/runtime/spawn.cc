#include "runtime/spawn.h"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "base/defer.h"
#include "base/thread.h"
#include "base/trace.h"
#include "runtime/namespaces.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"
#include "sys/syscalls.h"

namespace berth::runtime {

namespace {

int shared_child_main(void* p) { direct_init_main(*static_cast<InitArgs*>(p)); }

// The direct path without a copy of the parent's memory: clone(CLONE_VM | CLONE_VFORK), the
// parent asleep until the init executes the helper (or dies). A fork here cost ~200 page
// faults on the reference VM (~10-17 us each): the parent's and the child's first write to
// every shared page after the fork, and the child's refaults of all the code it runs. Only
// for an init that needs nothing from the parent's main thread before its exec (its cgroup
// comes from a thread: CgroupHandoff, init.h), and there are no hooks that stop it (createRuntime,
// startContainer), no seccomp listener and no user namespace (direct_clone_ok). Returns -1 with
// errno set.
//
// The child's stack is a block of the heap, not a fresh mapping: the heap of berth and
// berth-runtime is on a transparent huge page that is already there (base/huge_heap.h), so
// the ~110 KiB the init's set-up uses cost no page faults (a fresh mmap'd stack took 27, ~0.3
// ms of every create). The init runs only this program's set-up code, with no recursion
// whose depth a spec or an image controls, until it executes the helper; kStack is 4x what
// it uses. A canary at the far end catches an overrun after the fact.
pid_t clone_shared(int ns_flags, InitArgs* args, pid_t* tid) {
  constexpr size_t kStack = size_t{512} << 10;
  constexpr uint64_t kCanary = 0x6265727468737461;  // "berthsta"
  std::unique_ptr<char[]> stack(new (std::nothrow) char[kStack]);
  if (!stack) {
    errno = ENOMEM;
    return -1;
  }
  std::memcpy(stack.get(), &kCanary, sizeof kCanary);
  // 16-byte aligned top (the ABI's requirement at a call).
  auto top = reinterpret_cast<uintptr_t>(stack.get() + kStack) & ~uintptr_t{15};
  pid_t pid = ::clone(shared_child_main, reinterpret_cast<void*>(top),
                      CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID | ns_flags | SIGCHLD, args, tid);
  int err = errno;
  // The child executed (its memory is its own now) or exited: the stack is free again.
#if defined(__SANITIZE_ADDRESS__)
  // Its frames' redzones stay poisoned (they never returned): clear them before the block
  // goes back to malloc.
  __asan_unpoison_memory_region(stack.get(), kStack);
#endif
  uint64_t seen;
  std::memcpy(&seen, stack.get(), sizeof seen);
  if (seen != kCanary) {
    // The heap may be damaged: stop before anything else uses it.
    static constexpr char kMsg[] = "berth: the container init overran its stack\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    ::abort();
  }
  errno = err;
  return pid;
}

// After kReady: the socket is close-on-exec, so end of file means the helper runs; a message
// means the exec failed.
Result<void> expect_exec(int sfd) {
  auto after = sync::recv(sfd);
  if (after) {
    if (after->type == sync::Type::kError) return fail(sync::error_from(*after));
    return fail(make_error(ErrorKind::kInternal, "sync: unexpected message after ready"));
  }
  if (after.error().kind() != ErrorKind::kNotFound) return fail(std::move(after.error()));
  return {};
}

// The parent's side of CgroupHandoff, on a thread of its own: make the cgroup, wait until the
// init runs (or clone gave up on it), move it in, and tell it.
Result<void> make_and_join(CgroupHandoff& h, cgroup::Manager& cg,
                           const std::function<Result<void>()>& make) {
  Result<void> r = make ? make() : Result<void>();
  if (r && CgroupHandoff::await(h.started) == CgroupHandoff::kStarted) {
    r = cg.add(h.tid);
    if (!r) r.error().wrap(fmt::format("join cgroup {}", cg.path()));
  }
  CgroupHandoff::publish(h.joined, r ? CgroupHandoff::kJoined : CgroupHandoff::kFailed);
  return r;
}

bool shared_clone_ok(const InitArgs& a) {
  const oci::Spec& s = *a.spec;
  if (a.hooks_before_pivot || !s.hooks.start_container.empty()) return false;
  if (s.linux.seccomp && seccomp_uses_notify(*s.linux.seccomp)) return false;
  return true;
}

}  // namespace

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
  int ns_flags = direct ? new_namespace_flags(args.spec->linux) & ~CLONE_NEWCGROUP : 0;
  if (direct && cg && shared_clone_ok(args)) {
    CgroupHandoff handoff;
    args.cgroup_handoff = &handoff;
    Result<void> joined;
    auto body = [&] { joined = make_and_join(handoff, *cg, hooks.make_cgroup); };
    HeapStackThread maker;
    if (!maker.start(body)) return fail(sys_error(errno, "start a thread"));
    pid_t init = clone_shared(ns_flags, &args, &handoff.tid);
    int clone_errno = errno;
    // The init executed the helper or died (or never ran): let the thread go on either way.
    uint32_t pending = CgroupHandoff::kPending;
    if (std::atomic_ref<uint32_t>(handoff.started)
            .compare_exchange_strong(pending, CgroupHandoff::kAbandoned))
      sys::futex_wake(&handoff.started);
    maker.join();
    if (init < 0) {
      if (!joined) return fail(std::move(joined.error()));
      return fail(sys_error(clone_errno, "clone the container process"));
    }
    child_end.reset();
    Defer undo([&] {
      ::kill(init, SIGKILL);
      ::waitpid(init, nullptr, 0);
    });
    // The child ran to its exec (or its death) while we slept: the socket holds its
    // messages, then end of file (close-on-exec) if the helper runs. Without its cgroup it
    // stopped before anything else: the thread's error says why (unless that is only that
    // the init was gone already: ESRCH).
    if (!joined && joined.error().sys_errno() != ESRCH) return fail(std::move(joined.error()));
    while (true) {
      auto m = sync::recv(parent_end.get());
      if (!m) {
        if (m.error().kind() != ErrorKind::kNotFound) return fail(std::move(m.error()));
        return fail(make_error(ErrorKind::kInternal, "the container process exited during setup"));
      }
      if (m->type == sync::Type::kError) return fail(sync::error_from(*m));
      if (m->type == sync::Type::kReady) break;
      if (m->type != sync::Type::kInitPid)
        return fail(make_error(ErrorKind::kInternal, "sync: unexpected message {}",
                               static_cast<uint32_t>(m->type)));
    }
    if (!joined) return fail(std::move(joined.error()));
    trace::mark("rt: init exec seen");
    BERTH_CHECK(expect_exec(parent_end.get()));
    undo.dismiss();
    return init;
  }
  if (hooks.make_cgroup) BERTH_CHECK(hooks.make_cgroup());
  struct clone_args ca {};
  ca.exit_signal = SIGCHLD;
  ca.flags = static_cast<uint64_t>(ns_flags);
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
        BERTH_CHECK(expect_exec(sfd));
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
