// The container handler: OCI verbs for containers isolated with namespaces and cgroups.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "runtime/handler.h"
#include "runtime/store.h"

namespace berth::runtime {

class ContainerHandler : public Handler {
 public:
  explicit ContainerHandler(Store store) : store_(std::move(store)) {}

  Result<void> create(std::string_view id, const oci::Spec& spec,
                      const CreateOptions& opts) override;
  Result<void> start(std::string_view id) override;
  Result<oci::State> state(std::string_view id) override;
  std::optional<oci::State> started_by_create(std::string_view id) override;
  Result<void> kill(std::string_view id, int signal, bool all) override;
  Result<void> remove(std::string_view id, bool force) override;
  Result<int> wait(std::string_view id) override;
  Result<int> exec(std::string_view id, const ExecOptions& opts) override;
  Result<void> pause(std::string_view id) override;
  Result<void> resume(std::string_view id) override;
  Result<void> update(std::string_view id, const oci::Resources& r) override;
  Result<std::vector<pid_t>> pids(std::string_view id) override;

  const Store& store() const { return store_; }

 private:
  // The config.json saved at create (changes to the bundle's later do not count).
  Result<oci::Spec> saved_spec(std::string_view id) const;

  Store store_;
  // The spec of the container this handler created or last read: `run` creates, starts and
  // deletes one container, and config.json is parsed once instead of three times. The
  // saved config.json never changes after create.
  mutable std::optional<std::pair<std::string, oci::Spec>> spec_cache_;
  std::optional<oci::State> started_;  // the last create that started its container
};

// The status of a recorded container, computed from its process and exec fifo now.
oci::Status compute_status(const Store& store, const oci::State& st);

}  // namespace berth::runtime
