// The VM handler: the OCI verbs for a container that runs in a light VM with its own kernel
// (QEMU microvm; KVM when usable, else TCG). Same bundle, same process, same stdio as the
// container handler; the isolation boundary is the hypervisor.
//
//   create  plans the guest from config.json, makes (or finds cached) the rootfs image and
//           the initramfs, forks the VM monitor (monitor.h), which starts QEMU and waits for
//           the guest agent to have set the process up; records the monitor as the state's
//           pid and returns. The VM keeps running after berth-runtime exits.
//   start   asks the monitor to let the process exec (through the control socket).
//   state   the monitor alive: created or running; gone: stopped.
//   kill    the signal goes to the guest process (or every guest process with --all).
//   delete  stops the VM (through the monitor, else by killing it and the helpers it
//           recorded) and removes the state dir: no process, socket or image copy is left.
//   wait    the guest process's exit code. The process that created the VM (berth-runtime
//           run) waits attached: if it dies, the VM stops with it.
//   pause / resume freeze and thaw the whole VM; ps lists the VM's host processes. exec
//   and update are not supported (the handler interface says so).
#pragma once

#include <memory>

#include "runtime/container.h"
#include "runtime/handler.h"
#include "runtime/store.h"
#include "vm/vm_options.h"

namespace berth::vm {

// True when config.json asks for VM isolation (annotation run.oci.berth.isolation=vm).
bool wants_vm(const oci::Spec& spec);
// True when a recorded container belongs to the VM handler.
inline bool is_vm_state(const oci::State& st) { return st.handler == "vm"; }

class VmHandler : public runtime::Handler {
 public:
  explicit VmHandler(runtime::Store store, VmOptions defaults = {})
      : store_(std::move(store)), defaults_(std::move(defaults)) {}

  Result<void> create(std::string_view id, const oci::Spec& spec,
                      const runtime::CreateOptions& opts) override;
  Result<void> start(std::string_view id) override;
  Result<oci::State> state(std::string_view id) override;
  Result<void> kill(std::string_view id, int signal, bool all) override;
  Result<void> remove(std::string_view id, bool force) override;
  Result<int> wait(std::string_view id) override;
  // The whole VM stops (QMP stop) and goes on (cont).
  Result<void> pause(std::string_view id) override;
  Result<void> resume(std::string_view id) override;
  // The host processes of the VM: its monitor, QEMU and virtiofsd.
  Result<std::vector<pid_t>> pids(std::string_view id) override;

  const runtime::Store& store() const { return store_; }

 private:
  runtime::Store store_;
  VmOptions defaults_;
};

// The handler that owns recorded container `id` (the one named in its state; the container
// handler when there is no state), and the one a spec asks for. berth-runtime and the
// engine both pick through these.
std::unique_ptr<runtime::Handler> handler_for(const runtime::Store& store, std::string_view id);
std::unique_ptr<runtime::Handler> handler_for_spec(const runtime::Store& store,
                                                   const oci::Spec& spec);

// The status of a recorded VM container, computed from its monitor now.
oci::Status vm_status(const oci::State& st);

}  // namespace berth::vm
