// The runtime's state directory: one directory per container under --root, holding
// state.json, a copy of config.json and the exec fifo. Operations on one container are
// serialised by an flock on its directory.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "oci/state.h"

namespace berth::runtime {

// Container ids: 1..1024 characters of [A-Za-z0-9_.+-], not "." or "..".
Result<void> validate_id(std::string_view id);

class Store {
 public:
  explicit Store(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string dir(std::string_view id) const;

  // Makes the container's directory; already_exists if the id is taken.
  Result<void> create_dir(std::string_view id);
  // Locks the container's directory (exclusive flock); not_found if there is none.
  Result<UniqueFd> lock(std::string_view id) const;
  Result<oci::State> load(std::string_view id) const;
  Result<void> save(const oci::State& st) const;
  Result<void> remove(std::string_view id) const;
  Result<std::vector<std::string>> list() const;

 private:
  std::string root_;
};

}  // namespace berth::runtime
