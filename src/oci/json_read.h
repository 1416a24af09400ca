// Typed reads from nlohmann::json that name the field at fault ("process.user.uid: expected
// an unsigned 32-bit integer"). Used by the parsers of untrusted JSON (config.json, image
// configs, manifests). Reads throw jr::Bad inside a parser; parse_with() turns that (and any
// nlohmann exception) into an Error, so no exception leaves the library.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::oci::jr {

struct Bad {
  std::string where;
  std::string msg;
};

[[noreturn]] void bad(const std::string& where, std::string_view msg);

class Obj {
 public:
  Obj(const nlohmann::json& j, std::string where) : j_(&j), where_(std::move(where)) {}

  const nlohmann::json& raw() const { return *j_; }
  const nlohmann::json& raw(const char* key) const { return (*j_)[key]; }
  std::string where(const char* key) const;
  const std::string& where() const { return where_; }

  // Present and not null.
  bool has(const char* key) const;
  std::vector<std::string> keys() const;

  std::string string(const char* key, bool required = false, std::string def = "") const;
  bool boolean(const char* key, bool required = false) const;
  int64_t i64(const char* key, bool required = false) const;
  uint64_t u64(const char* key, bool required = false) const;
  uint64_t u64_max(const char* key, uint64_t max) const;
  uint32_t u32(const char* key, bool required = false) const;
  std::vector<std::string> strings(const char* key) const;
  std::map<std::string, std::string> string_map(const char* key) const;
  std::optional<Obj> object(const char* key, bool required = false) const;
  std::vector<Obj> array(const char* key) const;

  // This value itself as a number (array elements).
  uint32_t as_u32() const;

 private:
  const nlohmann::json* j_;
  std::string where_;
};

// read(Obj) on a document parsed already.
template <typename F>
auto read_with(const nlohmann::json& j, std::string_view what, F&& read)
    -> Result<decltype(read(std::declval<const Obj&>()))> {
  if (!j.is_object()) return fail(invalid("{}: expected a JSON object", what));
  try {
    return read(Obj(j, ""));
  } catch (const Bad& b) {
    return fail(invalid("{}: {}: {}", what, b.where, b.msg));
  } catch (const std::exception& e) {
    return fail(invalid("{}: {}", what, e.what()));
  }
}

template <typename F>
auto parse_with(std::string_view text, std::string_view what, F&& read)
    -> Result<decltype(read(std::declval<const Obj&>()))> {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail(invalid("{}: not valid JSON (at byte {})", what, e.byte));
  } catch (const std::exception& e) {
    // out_of_range and the like (a number that overflows a double).
    return fail(invalid("{}: not valid JSON ({})", what, e.what()));
  }
  return read_with(j, what, std::forward<F>(read));
}

}  // namespace berth::oci::jr
