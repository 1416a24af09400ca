// Named volumes: directories under <root>/volumes/<name>/_data that outlive containers.
// A new volume is filled from the image's content at its mount point on first use, as Docker
// does; a volume a container uses cannot be removed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::engine {

struct Volume {
  std::string name;
  std::string mountpoint;  // <root>/volumes/<name>/_data
  int64_t created = 0;
  bool anonymous = false;
  std::map<std::string, std::string> labels;
};

class Volumes {
 public:
  explicit Volumes(std::string dir) : dir_(std::move(dir)) {}
  Result<void> validate_name(std::string_view name) const;
  // Creates it if missing (created: whether this call made it).
  Result<Volume> ensure(std::string_view name, bool anonymous, bool* created = nullptr,
                        const std::map<std::string, std::string>& labels = {});
  Result<Volume> get(std::string_view name) const;
  Result<std::vector<Volume>> list() const;
  Result<void> remove(std::string_view name);
  // Copies the image's files at `from` (inside a container rootfs) into an empty new volume.
  Result<void> populate(const Volume& v, const std::string& rootfs, const std::string& target);

 private:
  std::string dir_;
};

}  // namespace berth::engine
