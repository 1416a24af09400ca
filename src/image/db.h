// A small SQLite wrapper: one connection, prepared statements, transactions. WAL mode and a
// busy timeout, so several berth processes can share one database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::image {

using DbValue = std::variant<std::nullptr_t, int64_t, std::string>;

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt(const Stmt&) = delete;
  ~Stmt();
  // Steps once: true while a row is available.
  Result<bool> step();
  std::string text(int col) const;
  int64_t i64(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  static Result<Db> open(const std::string& path);
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  ~Db();

  Result<void> exec(std::string_view sql);
  // Runs schema (CREATE ... IF NOT EXISTS statements) unless table, the last one it creates,
  // exists: looked up in the schema SQLite has loaded anyway, instead of parsing every
  // statement of it on every open.
  Result<void> ensure_schema(std::string_view table, std::string_view schema);
  // Prepares sql and binds params (?1, ?2 ...).
  Result<Stmt> query(std::string_view sql, const std::vector<DbValue>& params = {});
  // Runs a statement that returns no rows.
  Result<void> run(std::string_view sql, const std::vector<DbValue>& params = {});
  // The first column of the first row, if any.
  Result<std::optional<std::string>> scalar(std::string_view sql,
                                            const std::vector<DbValue>& params = {});
  Result<int64_t> count(std::string_view sql, const std::vector<DbValue>& params = {});

  // BEGIN IMMEDIATE ... COMMIT; rolled back when f fails.
  template <typename F>
  Result<void> transaction(F&& f) {
    BERTH_CHECK(exec("BEGIN IMMEDIATE"));
    Result<void> r = f();
    if (!r) {
      (void)exec("ROLLBACK");
      return r;
    }
    return exec("COMMIT");
  }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace berth::image
