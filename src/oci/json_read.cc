#include "oci/json_read.h"

#include <limits>
#include <optional>

namespace berth::oci::jr {

using nlohmann::json;

void bad(const std::string& where, std::string_view msg) { throw Bad{where, std::string(msg)}; }

std::string Obj::where(const char* key) const {
  return where_.empty() ? std::string(key) : where_ + "." + key;
}

bool Obj::has(const char* key) const {
  auto it = j_->find(key);
  return it != j_->end() && !it->is_null();
}

std::vector<std::string> Obj::keys() const {
  std::vector<std::string> out;
  for (auto it = j_->begin(); it != j_->end(); ++it) out.push_back(it.key());
  return out;
}

namespace {

const json* get(const json& j, const char* key, const std::string& where, bool required) {
  if (!j.is_object()) {
    std::string parent =
        where.substr(0, where.rfind('.') == std::string::npos ? 0 : where.rfind('.'));
    bad(parent.empty() ? "(top level)" : parent, "expected an object");
  }
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) bad(where, "missing");
    return nullptr;
  }
  return &*it;
}

}  // namespace

std::string Obj::string(const char* key, bool required, std::string def) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return def;
  if (!v->is_string()) bad(where(key), "expected a string");
  return v->get<std::string>();
}

bool Obj::boolean(const char* key, bool required) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return false;
  if (!v->is_boolean()) bad(where(key), "expected true or false");
  return v->get<bool>();
}

int64_t Obj::i64(const char* key, bool required) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return 0;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      bad(where(key), "number too large");
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) bad(where(key), "expected an integer");
  return v->get<int64_t>();
}

namespace {
// A whole number >= 0: parsed text holds it as unsigned, a document built in memory (a spec
// made by the engine) as a signed integer.
std::optional<uint64_t> non_negative(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}
}  // namespace

uint64_t Obj::u64(const char* key, bool required) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return 0;
  auto n = non_negative(*v);
  if (!n) bad(where(key), "expected an unsigned integer");
  return *n;
}

uint64_t Obj::u64_max(const char* key, uint64_t max) const {
  uint64_t v = u64(key);
  if (v > max) bad(where(key), fmt::format("{} is above the maximum {}", v, max));
  return v;
}

uint32_t Obj::u32(const char* key, bool required) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return 0;
  auto n = non_negative(*v);
  if (!n || *n > std::numeric_limits<uint32_t>::max())
    bad(where(key), "expected an unsigned 32-bit integer");
  return static_cast<uint32_t>(*n);
}

uint32_t Obj::as_u32() const {
  auto n = non_negative(*j_);
  if (!n || *n > std::numeric_limits<uint32_t>::max())
    bad(where_, "expected an unsigned 32-bit integer");
  return static_cast<uint32_t>(*n);
}

std::vector<std::string> Obj::strings(const char* key) const {
  std::vector<std::string> out;
  const json* v = get(*j_, key, where(key), false);
  if (!v) return out;
  if (!v->is_array()) bad(where(key), "expected an array of strings");
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) bad(fmt::format("{}[{}]", where(key), i), "expected a string");
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> Obj::string_map(const char* key) const {
  std::map<std::string, std::string> out;
  const json* v = get(*j_, key, where(key), false);
  if (!v) return out;
  if (!v->is_object()) bad(where(key), "expected an object of strings");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) bad(where(key) + "." + it.key(), "expected a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

std::optional<Obj> Obj::object(const char* key, bool required) const {
  const json* v = get(*j_, key, where(key), required);
  if (!v) return std::nullopt;
  if (!v->is_object()) bad(where(key), "expected an object");
  return Obj(*v, where(key));
}

std::vector<Obj> Obj::array(const char* key) const {
  std::vector<Obj> out;
  const json* v = get(*j_, key, where(key), false);
  if (!v) return out;
  if (!v->is_array()) bad(where(key), "expected an array");
  for (size_t i = 0; i < v->size(); ++i) {
    std::string w = fmt::format("{}[{}]", where(key), i);
    out.emplace_back((*v)[i], w);
  }
  return out;
}

}  // namespace berth::oci::jr
