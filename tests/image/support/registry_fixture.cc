#include "image/support/registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "image/support/image_support.h"
#include "registry/auth.h"
#include "registry/http.h"

namespace berth::test {

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

namespace {

std::string b64url(std::string_view in) {
  std::string s = registry::base64_encode(in);
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

}  // namespace

// A token server for the registry's bearer flow: checks Basic credentials and grants the
// requested repository scopes in an RS256 JWT whose x5c header carries the signing cert.
class TokenServer {
 public:
  TokenServer(const std::string& dir, std::string user, std::string password)
      : user_(std::move(user)), password_(std::move(password)) {
    CmdResult r = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                       dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2", "-subj",
                       "/CN=berth-test-token"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    FILE* kf = fopen((dir + "/key.pem").c_str(), "r");
    key_ = PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr);
    fclose(kf);
    FILE* cf = fopen((dir + "/cert.pem").c_str(), "r");
    X509* cert = PEM_read_X509(cf, nullptr, nullptr, nullptr);
    fclose(cf);
    unsigned char* der = nullptr;
    int n = i2d_X509(cert, &der);
    cert_b64_ = registry::base64_encode(std::string_view(reinterpret_cast<char*>(der), n));
    OPENSSL_free(der);
    X509_free(cert);
    port_ = free_port();
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~TokenServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    EVP_PKEY_free(key_);
  }
  int port() const { return port_; }
  int issued() const { return issued_; }

 private:
  std::string sign(const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }

  std::string token(const std::vector<std::string>& scopes) {
    nlohmann::json hdr = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5c", {cert_b64_}}};
    int64_t now = time(nullptr);
    nlohmann::json access = nlohmann::json::array();
    for (const auto& s : scopes) {
      // repository:NAME:ACTIONS (NAME may hold ':' only for a port; not used here)
      size_t a = s.find(':'), b = s.rfind(':');
      if (a == std::string::npos || a == b) continue;
      nlohmann::json actions = nlohmann::json::array();
      for (const auto& act : split(s.substr(b + 1), ',')) actions.push_back(act);
      access.push_back(
          {{"type", s.substr(0, a)}, {"name", s.substr(a + 1, b - a - 1)}, {"actions", actions}});
    }
    nlohmann::json claims = {{"iss", "berth-test-issuer"},
                             {"sub", user_},
                             {"aud", "berth-test-registry"},
                             {"exp", now + 600},
                             {"nbf", now - 60},
                             {"iat", now},
                             {"jti", std::to_string(now) + "-" + std::to_string(issued_)},
                             {"access", access}};
    std::string input = b64url(hdr.dump()) + "." + b64url(claims.dump());
    return input + "." + b64url(sign(input));
  }

  void serve() {
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string first = req.substr(0, req.find("\r\n"));
      std::vector<std::string> scopes;
      size_t q = first.find('?');
      if (q != std::string::npos) {
        std::string query = first.substr(q + 1, first.find(' ', q) - q - 1);
        for (const auto& kv : split(query, '&')) {
          if (kv.rfind("scope=", 0) != 0) continue;
          std::string v;
          for (size_t i = 6; i < kv.size(); ++i) {
            if (kv[i] == '%' && i + 2 < kv.size()) {
              v.push_back(static_cast<char>(std::stoi(kv.substr(i + 1, 2), nullptr, 16)));
              i += 2;
            } else {
              v.push_back(kv[i]);
            }
          }
          scopes.push_back(v);
        }
      }
      std::string want = "Authorization: Basic " + registry::base64_encode(user_ + ":" + password_);
      bool authed = req.find(want) != std::string::npos;
      std::string body, status = "200 OK";
      if (!authed) {
        status = "401 Unauthorized";
        body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}";
      } else {
        body = nlohmann::json{{"token", token(scopes)}}.dump();
        ++issued_;
      }
      std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" +
                         "Content-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
      ssize_t ignored = write(c, resp.data(), resp.size());
      (void)ignored;
      close(c);
    }
  }

  std::string user_, password_;
  EVP_PKEY* key_ = nullptr;
  std::string cert_b64_;
  int port_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> issued_{0};
  std::thread thread_;
};

Registry::Registry(Auth auth, std::string user, std::string password)
    : tmp_("berth-test-registry") {
  int port = free_port();
  host_ = "127.0.0.1:" + std::to_string(port);
  std::string cfg =
      "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      dir() + "/data\n  delete:\n    enabled: true\nhttp:\n  addr: " + host_ + "\n";
  if (auth == Auth::kHtpasswd) {
    CmdResult r = run({"htpasswd", "-Bbn", user, password});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    write_file(dir() + "/htpasswd", r.out);
    cfg += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir() + "/htpasswd\n";
  } else if (auth == Auth::kToken) {
    token_ = std::make_unique<TokenServer>(dir(), user, password);
    cfg += "auth:\n  token:\n    realm: http://127.0.0.1:" + std::to_string(token_->port()) +
           "/token\n    service: berth-test-registry\n    issuer: berth-test-issuer\n"
           "    rootcertbundle: " +
           dir() + "/cert.pem\n";
  }
  write_file(dir() + "/config.yml", cfg);
  pid_ = fork();
  if (pid_ == 0) {
    int log = open((dir() + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    setpgid(0, 0);
    execlp("docker-registry", "docker-registry", "serve", (dir() + "/config.yml").c_str(), nullptr);
    _exit(127);
  }
  registry::HttpClient http;
  for (int i = 0; i < 200 && !ok_; ++i) {
    registry::HttpRequest req;
    req.url = "http://" + host_ + "/v2/";
    auto r = http.perform(req);
    if (r && (r->status == 200 || r->status == 401))
      ok_ = true;
    else
      usleep(50000);
  }
}

Registry::~Registry() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(20000);
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
}

std::string Registry::log() const { return read_file(dir() + "/registry.log"); }

}  // namespace berth::test
