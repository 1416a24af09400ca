// The OCI verbs behind one interface. The container handler (namespaces and cgroups) and,
// later, the VM handler implement it; berth-runtime picks one per container at create time
// and records it in the state, and the engine calls it in-process.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::runtime {

struct CreateOptions {
  std::string bundle;          // absolute bundle directory
  std::string pid_file;        // write the init pid here ("" for none)
  std::string console_socket;  // AF_UNIX socket to send the pty master to
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;  // fds 3 .. 3+N-1 pass to the container
  bool systemd_cgroup = false;
  int console_fd = -1;      // instead of console_socket: an already connected socket
  std::string config_json;  // the text the spec was parsed from (saved with the state)
  // The caller starts the container right after create (run): a handler may fold the start
  // into create and return with the container running (its state then says so), saving a
  // round trip. Handlers that cannot ignore it; the caller checks the state.
  bool start = false;
};

struct ExecOptions {
  oci::Process process;
  std::string console_socket;
  int console_fd = -1;  // instead of console_socket: an already connected socket
  std::string pid_file;
  bool detach = false;
  int preserve_fds = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual Result<void> create(std::string_view id, const oci::Spec& spec,
                              const CreateOptions& opts) = 0;
  virtual Result<void> start(std::string_view id) = 0;
  // The state with its status computed now (a dead init is "stopped").
  virtual Result<oci::State> state(std::string_view id) = 0;
  // Right after this handler's create of id with CreateOptions::start: the state if create
  // started the container itself (as create saved it), or nullopt: state() tells the rest.
  virtual std::optional<oci::State> started_by_create(std::string_view) { return std::nullopt; }
  virtual Result<void> kill(std::string_view id, int signal, bool all) = 0;
  virtual Result<void> remove(std::string_view id, bool force) = 0;
  // Waits for the container's init (which must be this process's child) and returns its
  // wait status as an exit code (128+signal when killed).
  virtual Result<int> wait(std::string_view id) = 0;

  // Verbs a handler may not support (the defaults say so).
  // exec: runs opts.process in the container. Returns its exit code; with opts.detach, its
  // pid (host pid namespace) as soon as it runs (it is this process's child, so a caller
  // that relays a terminal can wait for it itself).
  virtual Result<int> exec(std::string_view id, const ExecOptions& opts);
  virtual Result<void> pause(std::string_view id);
  virtual Result<void> resume(std::string_view id);
  virtual Result<void> update(std::string_view id, const oci::Resources& r);
  // The pids of every process of the container (host pid namespace).
  virtual Result<std::vector<pid_t>> pids(std::string_view id);
};

// After a create with CreateOptions::start: starts the container unless the handler already
// did (a start that fails removes it), and returns its state.
Result<oci::State> start_unless_started(Handler& h, std::string_view id);

}  // namespace berth::runtime
