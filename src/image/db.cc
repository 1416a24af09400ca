#include "image/db.h"

#include <sqlite3.h>
#include <sys/mman.h>

#include <optional>

#include "base/trace.h"

namespace berth::image {
namespace {

Error db_error(sqlite3* db, std::string_view what) {
  return make_error(ErrorKind::kInternal, "database: {}: {}", what, sqlite3_errmsg(db));
}

// SQLite maps its WAL index (the -shm file, 32 KiB regions) shared and writable, and a
// process that opens the database alone rebuilds the index, writing every page of the first
// region: 8 page faults (~16 us each on this project's reference VM) where one madvise
// populates them together. Installed as the unix VFS's "mmap" (xSetSystemCall); the
// database file itself is not memory-mapped (mmap_size 0) and goes through read/write.
using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);
MmapFn g_sqlite_mmap = nullptr;

void* mmap_populated(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  void* p = g_sqlite_mmap(addr, len, prot, flags, fd, off);
#ifdef MADV_POPULATE_WRITE
  if (p != MAP_FAILED && (flags & MAP_SHARED) && (prot & PROT_WRITE))
    (void)madvise(p, len, MADV_POPULATE_WRITE);  // best effort: faults as before if refused
#endif
  return p;
}

void install_populating_mmap() {
  static const bool done = [] {
    sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
    if (vfs == nullptr || vfs->iVersion < 3 || vfs->xGetSystemCall == nullptr) return true;
    g_sqlite_mmap = reinterpret_cast<MmapFn>(vfs->xGetSystemCall(vfs, "mmap"));
    if (g_sqlite_mmap != nullptr)
      vfs->xSetSystemCall(vfs, "mmap", reinterpret_cast<sqlite3_syscall_ptr>(mmap_populated));
    return true;
  }();
  (void)done;
}

}  // namespace

Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_error(db_, sqlite3_sql(s_));
  // A unique or primary key taken already: the caller's "exists" (see Store::prepare_snapshot).
  if (rc == SQLITE_CONSTRAINT && (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY ||
                                  sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE))
    e = make_error(ErrorKind::kAlreadyExists, "{}", e.text());
  return fail(std::move(e));
}

std::string Stmt::text(int col) const {
  const unsigned char* t = sqlite3_column_text(s_, col);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }
bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Result<Db> Db::open(const std::string& path) {
  install_populating_mmap();
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(ErrorKind::kInternal, "open database {}: {}", path,
                         db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return fail(std::move(e));
  }
  Db out(db);
  trace::mark("db: sqlite3_open_v2");
  sqlite3_busy_timeout(db, 30000);
  // berth is many short processes: by default the last one to close a WAL database
  // checkpoints it and deletes the WAL, and the next one recreates it, each with fsyncs of
  // the file and its directory (8 fsyncs per `berth run --rm`). Keep the WAL file and leave
  // checkpoints to SQLite's automatic ones, but every 64 pages rather than 1000: a process
  // that opens the database alone rebuilds the WAL index by reading every frame of the WAL,
  // and with 1000 pages (4 MiB) that read grew to milliseconds per command.
  int persist = 1;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  BERTH_CHECK(
      out.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
               "PRAGMA wal_autocheckpoint=64; PRAGMA foreign_keys=ON"));
  return out;
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close(db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close(db_);
}

Result<void> Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Error e =
        make_error(ErrorKind::kInternal, "database: {}: {}", s.substr(0, 60), err ? err : "error");
    sqlite3_free(err);
    return fail(std::move(e));
  }
  return {};
}

Result<void> Db::ensure_schema(std::string_view table, std::string_view schema) {
  std::string t(table);
  if (sqlite3_table_column_metadata(db_, "main", t.c_str(), nullptr, nullptr, nullptr, nullptr,
                                    nullptr, nullptr) == SQLITE_OK)
    return {};
  return exec(schema);
}

Result<Stmt> Db::query(std::string_view sql, const std::vector<DbValue>& params) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return fail(db_error(db_, sql));
  Stmt st(db_, s);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>)
            return sqlite3_bind_null(s, idx);
          else if constexpr (std::is_same_v<T, int64_t>)
            return sqlite3_bind_int64(s, idx, v);
          else
            return sqlite3_bind_text(s, idx, v.data(), static_cast<int>(v.size()),
                                     SQLITE_TRANSIENT);
        },
        params[i]);
    if (rc != SQLITE_OK) return fail(db_error(db_, "bind"));
  }
  return st;
}

Result<void> Db::run(std::string_view sql, const std::vector<DbValue>& params) {
  Stmt st = BERTH_TRY(query(sql, params));
  BERTH_TRY(st.step());
  return {};
}

Result<std::optional<std::string>> Db::scalar(std::string_view sql,
                                              const std::vector<DbValue>& params) {
  Stmt st = BERTH_TRY(query(sql, params));
  if (!BERTH_TRY(st.step())) return std::optional<std::string>();
  return std::optional<std::string>(st.text(0));
}

Result<int64_t> Db::count(std::string_view sql, const std::vector<DbValue>& params) {
  Stmt st = BERTH_TRY(query(sql, params));
  if (!BERTH_TRY(st.step())) return int64_t{0};
  return st.i64(0);
}

}  // namespace berth::image
