// Registry credentials and the WWW-Authenticate challenge flow.
//
// Credentials live in one JSON file in Docker's format ({"auths": {"host": {"auth":
// base64("user:password")}}}), written atomically with mode 0600.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace berth::registry {

struct Credential {
  std::string username;
  std::string password;
};

class AuthFile {
 public:
  explicit AuthFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  Result<std::optional<Credential>> get(std::string_view registry) const;
  Result<void> set(std::string_view registry, const Credential& c) const;
  // Returns false when there was nothing to remove.
  Result<bool> remove(std::string_view registry) const;

 private:
  std::string path_;
};

// A parsed WWW-Authenticate header: scheme ("bearer", "basic", lowercase) and parameters.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
Result<Challenge> parse_challenge(std::string_view header);

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);

}  // namespace berth::registry
