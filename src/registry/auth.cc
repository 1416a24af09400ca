#include "registry/auth.h"

#include <nettle/base64.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"
#include "image/json_util.h"

namespace berth::registry {
namespace {

Result<nlohmann::json> load(const std::string& path) {
  if (!file::exists(path)) return nlohmann::json::object();
  std::string text = BERTH_TRY(file::read(path));
  nlohmann::json j = ::berth::image::parse_json(text);
  if (j.is_discarded() || !j.is_object())
    return fail(invalid("credentials file {}: not a JSON object", path));
  return j;
}

Result<void> save(const std::string& path, const nlohmann::json& j) {
  BERTH_CHECK(file::mkdir_all(path::dirname(path), 0700));
  return file::write_atomic(path, j.dump(2) + "\n", 0600, true);
}

}  // namespace

// nettle's base64 (nettle already gives berth its SHA-256): OpenSSL was linked for this alone.
std::string base64_encode(std::string_view in) {
  std::string out(BASE64_ENCODE_RAW_LENGTH(in.size()), '\0');
  base64_encode_raw(out.data(), in.size(), reinterpret_cast<const uint8_t*>(in.data()));
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  std::string s(trim(in));
  if (s.size() % 4 != 0) return fail(invalid("invalid base64 text"));
  std::string out(BASE64_DECODE_LENGTH(s.size()), '\0');
  base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  size_t len = out.size();
  if (!base64_decode_update(&ctx, &len, reinterpret_cast<uint8_t*>(out.data()), s.size(),
                            s.data()) ||
      !base64_decode_final(&ctx))
    return fail(invalid("invalid base64 text"));
  out.resize(len);
  return out;
}

Result<std::optional<Credential>> AuthFile::get(std::string_view registry) const {
  nlohmann::json j = BERTH_TRY(load(path_));
  auto auths = j.find("auths");
  if (auths == j.end() || !auths->is_object()) return std::optional<Credential>();
  auto e = auths->find(std::string(registry));
  if (e == auths->end() || !e->is_object() || !e->contains("auth") || !(*e)["auth"].is_string())
    return std::optional<Credential>();
  std::string dec = BERTH_TRY(base64_decode((*e)["auth"].get<std::string>()));
  size_t colon = dec.find(':');
  if (colon == std::string::npos)
    return fail(invalid("credentials for {}: expected user:password", registry));
  return std::optional<Credential>(Credential{dec.substr(0, colon), dec.substr(colon + 1)});
}

Result<void> AuthFile::set(std::string_view registry, const Credential& c) const {
  nlohmann::json j = BERTH_TRY(load(path_));
  j["auths"][std::string(registry)] = {{"auth", base64_encode(c.username + ":" + c.password)}};
  return save(path_, j);
}

Result<bool> AuthFile::remove(std::string_view registry) const {
  nlohmann::json j = BERTH_TRY(load(path_));
  if (!j.contains("auths") || !j["auths"].is_object() || !j["auths"].contains(registry))
    return false;
  j["auths"].erase(std::string(registry));
  BERTH_CHECK(save(path_, j));
  return true;
}

Result<Challenge> parse_challenge(std::string_view h) {
  Challenge c;
  h = trim(h);
  size_t sp = h.find(' ');
  std::string scheme(h.substr(0, sp));
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (scheme.empty()) return fail(invalid("empty WWW-Authenticate header"));
  c.scheme = scheme;
  if (sp == std::string_view::npos) return c;
  std::string_view rest = h.substr(sp + 1);
  // key=value or key="quoted, value", comma separated.
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == ',')) ++i;
    size_t eq = rest.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(trim(rest.substr(i, eq - i)));
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    i = eq + 1;
    std::string value;
    if (i < rest.size() && rest[i] == '"') {
      ++i;
      while (i < rest.size() && rest[i] != '"') {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value.push_back(rest[i++]);
      }
      ++i;
    } else {
      size_t end = rest.find(',', i);
      value = std::string(trim(rest.substr(i, end == std::string_view::npos ? end : end - i)));
      i = end == std::string_view::npos ? rest.size() : end;
    }
    c.params[key] = value;
  }
  return c;
}

}  // namespace berth::registry
