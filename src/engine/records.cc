#include "engine/records.h"

namespace berth::engine {
namespace {

constexpr const char* kColumns =
    "id, name, image, image_id, command, options, created, state, pid, exit_code, started_at, "
    "finished_at, restart_count, stopped_by_user";

ContainerRecord from_row(image::Stmt& s) {
  ContainerRecord r;
  r.id = s.text(0);
  r.name = s.text(1);
  r.image = s.text(2);
  r.image_id = s.text(3);
  r.command = s.text(4);
  r.options_json = s.text(5);
  r.created = s.i64(6);
  r.state = s.text(7);
  r.pid = s.i64(8);
  r.exit_code = static_cast<int>(s.i64(9));
  r.started_at = s.i64(10);
  r.finished_at = s.i64(11);
  r.restart_count = static_cast<int>(s.i64(12));
  r.stopped_by_user = s.i64(13) != 0;
  return r;
}

}  // namespace

Result<Records> Records::on(image::Db& db) {
  BERTH_CHECK(db.ensure_schema(
      "containers",
      "CREATE TABLE IF NOT EXISTS containers ("
      " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image TEXT NOT NULL,"
      " image_id TEXT NOT NULL, command TEXT NOT NULL, options TEXT NOT NULL,"
      " created INTEGER NOT NULL, state TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,"
      " exit_code INTEGER NOT NULL DEFAULT 0, started_at INTEGER NOT NULL DEFAULT 0,"
      " finished_at INTEGER NOT NULL DEFAULT 0, restart_count INTEGER NOT NULL DEFAULT 0,"
      " stopped_by_user INTEGER NOT NULL DEFAULT 0)"));
  return Records(&db);
}

Result<void> Records::insert(const ContainerRecord& r) {
  auto res = db_->run(fmt::format("INSERT INTO containers ({}) VALUES "
                                  "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
                                  kColumns),
                      {r.id, r.name, r.image, r.image_id, r.command, r.options_json, r.created,
                       r.state, r.pid, int64_t{r.exit_code}, r.started_at, r.finished_at,
                       int64_t{r.restart_count}, int64_t{r.stopped_by_user}});
  if (!res && res.error().message().find("UNIQUE") != std::string::npos)
    return fail(
        make_error(ErrorKind::kAlreadyExists, "the container name {:?} is already in use", r.name));
  return res;
}

Result<ContainerRecord> Records::find(std::string_view ref) {
  if (ref.empty()) return fail(invalid("no container given"));
  {
    image::Stmt s = BERTH_TRY(
        db_->query(fmt::format("SELECT {} FROM containers WHERE id=?1 OR name=?1", kColumns),
                   {std::string(ref)}));
    if (BERTH_TRY(s.step())) return from_row(s);
  }
  bool hex = ref.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (hex) {
    image::Stmt s = BERTH_TRY(
        db_->query(fmt::format("SELECT {} FROM containers WHERE id LIKE ?1 || '%'", kColumns),
                   {std::string(ref)}));
    std::optional<ContainerRecord> found;
    while (BERTH_TRY(s.step())) {
      if (found)
        return fail(invalid("container id prefix {:?} matches more than one container", ref));
      found = from_row(s);
    }
    if (found) return *found;
  }
  return fail(make_error(ErrorKind::kNotFound, "no such container: {}", ref));
}

Result<std::vector<ContainerRecord>> Records::list() {
  std::vector<ContainerRecord> out;
  image::Stmt s = BERTH_TRY(
      db_->query(fmt::format("SELECT {} FROM containers ORDER BY created DESC, id", kColumns)));
  while (BERTH_TRY(s.step())) out.push_back(from_row(s));
  return out;
}

Result<void> Records::update_life(const ContainerRecord& r) {
  return db_->run(
      "UPDATE containers SET state=?2, pid=?3, exit_code=?4, started_at=?5, finished_at=?6,"
      " restart_count=?7, stopped_by_user=?8 WHERE id=?1",
      {r.id, r.state, r.pid, int64_t{r.exit_code}, r.started_at, r.finished_at,
       int64_t{r.restart_count}, int64_t{r.stopped_by_user}});
}

Result<void> Records::rename(std::string_view id, std::string_view new_name) {
  auto res = db_->run("UPDATE containers SET name=?2 WHERE id=?1",
                      {std::string(id), std::string(new_name)});
  if (!res && res.error().message().find("UNIQUE") != std::string::npos)
    return fail(make_error(ErrorKind::kAlreadyExists, "the container name {:?} is already in use",
                           new_name));
  return res;
}

Result<void> Records::remove(std::string_view id) {
  return db_->run("DELETE FROM containers WHERE id=?1", {std::string(id)});
}

}  // namespace berth::engine
