// The container handler: OCI verbs for containers isolated with namespaces and cgroups.
#pragma once

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
  Result<void> kill(std::string_view id, int signal, bool all) override;
  Result<void> remove(std::string_view id, bool force) override;
  Result<int> wait(std::string_view id) override;

  const Store& store() const { return store_; }

 private:
  Store store_;
};

// The status of a recorded container, computed from its process and exec fifo now.
oci::Status compute_status(const Store& store, const oci::State& st);

}  // namespace berth::runtime
