// Debian's docker-registry on 127.0.0.1 (a free port, data in a temp dir), started by the
// constructor and stopped by the destructor; optionally with htpasswd or token auth.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "support/harness.h"

namespace berth::test {

class TokenServer;

class Registry {
 public:
  enum class Auth { kNone, kHtpasswd, kToken };
  explicit Registry(Auth auth = Auth::kNone, std::string user = "alice",
                    std::string password = "s3cret");
  ~Registry();
  const std::string& host() const { return host_; }  // "127.0.0.1:PORT"
  const std::string& dir() const { return tmp_.path(); }
  bool ok() const { return ok_; }
  std::string log() const;

 private:
  TempDir tmp_;
  std::string host_;
  pid_t pid_ = -1;
  bool ok_ = false;
  std::unique_ptr<TokenServer> token_;
};

int free_port();

}  // namespace berth::test
