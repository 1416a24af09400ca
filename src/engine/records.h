// Container records in SQLite: what the user asked for (the run options as JSON) and what is
// known about the container's life. The live status is computed from the runtime and the
// monitor (status.cc); records are repaired from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/db.h"

namespace berth::engine {

struct ContainerRecord {
  std::string id;     // 64 hex
  std::string name;   // unique
  std::string image;  // as the user named it
  std::string image_id;
  std::string command;       // for ps
  std::string options_json;  // RunOptions as JSON
  int64_t created = 0;       // unix seconds
  // Last known life: created, running, paused, exited, dead.
  std::string state = "created";
  int64_t pid = 0;
  int exit_code = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int restart_count = 0;
  bool stopped_by_user = false;
};

class Records {
 public:
  // The records in the database db (the image store's: one connection, one schema read, for
  // both); db must outlive them.
  static Result<Records> on(image::Db& db);

  // already_exists when the name is taken.
  Result<void> insert(const ContainerRecord& r);
  // By full id, unique id prefix, or name; not_found otherwise.
  Result<ContainerRecord> find(std::string_view ref);
  Result<std::vector<ContainerRecord>> list();
  Result<void> update_life(const ContainerRecord& r);
  Result<void> rename(std::string_view id, std::string_view new_name);
  Result<void> remove(std::string_view id);
  image::Db& db() { return *db_; }

 private:
  explicit Records(image::Db* db) : db_(db) {}
  image::Db* db_;
};

}  // namespace berth::engine
