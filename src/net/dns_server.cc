#include "net/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>

#include "base/file.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "net/dns_msg.h"
#include "net/dns_records.h"
#include "runtime/proc_info.h"

namespace berth::net {

std::string format_dns_conf(const DnsUpstreams& u) {
  std::string s = fmt::format("forward {}\n", u.forward ? 1 : 0);
  for (const auto& [ip, port] : u.servers) s += fmt::format("upstream {}:{}\n", ip.str(), port);
  return s;
}

DnsUpstreams parse_dns_conf(std::string_view text) {
  DnsUpstreams u;
  for (const auto& line : split(text, '\n')) {
    auto w = split(line, ' ');
    if (w.size() != 2) continue;
    if (w[0] == "forward") u.forward = w[1] == "1";
    if (w[0] == "upstream") {
      std::string addr = w[1];
      uint16_t port = 53;
      if (size_t c = addr.find(':'); c != std::string::npos) {
        auto p = parse_uint(addr.substr(c + 1));
        if (!p || *p == 0 || *p > 65535) continue;
        port = static_cast<uint16_t>(*p);
        addr.resize(c);
      }
      if (auto ip = parse_ipv4(addr)) u.servers.push_back({*ip, port});
    }
  }
  return u;
}

namespace {

constexpr uint32_t kTtl = 5;  // seconds: containers come and go
constexpr int kForwardTimeoutMs = 2000;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// A file re-read when it is replaced (rename gives it a new inode) or changed.
class WatchedFile {
 public:
  explicit WatchedFile(std::string path) : path_(std::move(path)) {}
  // True when the content changed since the last call. Without `force` an unchanged inode,
  // mtime and size count as unchanged; a replacement within the timestamp granularity can
  // reuse all three (a freed inode number comes back), so a caller that misses reads again
  // with force.
  bool refresh(bool force = false) {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      bool had = present_;
      present_ = false;
      text_.clear();
      return had;
    }
    if (!force && present_ && st.st_ino == ino_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
        st.st_mtim.tv_nsec == mtime_.tv_nsec && st.st_size == size_)
      return false;
    auto t = file::read(path_);
    std::string old = std::move(text_);
    text_ = t ? *t : std::string();
    if (force && present_ && text_ == old) return false;
    present_ = true;
    ino_ = st.st_ino;
    mtime_ = st.st_mtim;
    size_ = st.st_size;
    return true;
  }
  const std::string& text() const { return text_; }

 private:
  std::string path_;
  std::string text_;
  bool present_ = false;
  ino_t ino_ = 0;
  timespec mtime_{};
  off_t size_ = 0;
};

struct Forward {
  UniqueFd fd;  // UDP socket connected to the upstream
  std::vector<uint8_t> query;
  size_t upstream = 0;
  int64_t deadline = 0;
  sockaddr_in client{};  // UDP client
  int tcp_client = -1;   // or a TCP connection (fd owned by conns)
};

struct TcpConn {
  UniqueFd fd;
  std::vector<uint8_t> in;
  int64_t deadline = 0;
};

class Server {
 public:
  explicit Server(const DnsServerOptions& o)
      : opt_(o),
        records_(o.store_dir + "/dns/records"),
        conf_(o.store_dir + "/dns/" + o.network_id + ".conf") {}

  Result<void> bind_sockets();
  int loop(int sigfd);

 private:
  std::vector<uint8_t> answer(const uint8_t* msg, size_t len, Ipv4 client, bool* forward);
  void start_forward(std::vector<uint8_t> query, const sockaddr_in* client, int tcp_client);
  void send_upstream(Forward& f);
  void reply(const Forward& f, const uint8_t* msg, size_t len);
  void tcp_reply(int fd, const uint8_t* msg, size_t len);
  void on_udp();
  void on_accept();
  bool on_tcp(TcpConn& c);  // false: close it
  bool still_wanted();

  DnsServerOptions opt_;
  WatchedFile records_;
  WatchedFile conf_;
  std::vector<DnsRecord> recs_;
  DnsUpstreams ups_;
  UniqueFd udp_, tcp_;
  std::list<Forward> fwd_;
  std::list<TcpConn> conns_;
};

Result<UniqueFd> bound_socket(int type, Ipv4 ip, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail(sys_error(errno, "socket"));
  int one = 1;
  // FREEBIND: the gateway address may still be in the middle of being added.
  setsockopt(fd.get(), SOL_IP, IP_FREEBIND, &one, sizeof one);
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(ip.v);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return fail(sys_error(errno, "bind {}:{}", ip.str(), port));
  if (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0)
    return fail(sys_error(errno, "listen {}:{}", ip.str(), port));
  return fd;
}

Result<void> Server::bind_sockets() {
  udp_ = BERTH_TRY(bound_socket(SOCK_DGRAM, opt_.listen, opt_.port));
  tcp_ = BERTH_TRY(bound_socket(SOCK_STREAM, opt_.listen, opt_.port));
  return {};
}

std::vector<uint8_t> Server::answer(const uint8_t* msg, size_t len, Ipv4 client, bool* forward) {
  *forward = false;
  auto q = dns::parse_query(msg, len);
  if (!q) {
    if (len >= 12 && !(msg[2] & 0x80)) {  // a query we cannot read: FORMERR, header only
      std::vector<uint8_t> out(msg, msg + 12);
      out[2] = 0x80 | (msg[2] & 0x79);
      out[3] = 0x80 | dns::kFormErr;
      for (int i = 4; i < 12; ++i) out[i] = 0;
      return out;
    }
    return {};
  }
  // The answer when the name is one of this network's, else nothing.
  auto ours = [&]() -> std::optional<std::vector<uint8_t>> {
    if (q->qclass != dns::kClassIn) return std::nullopt;
    if (auto rev = dns::parse_reverse_name(q->name)) {
      auto names = dns_reverse(recs_, opt_.network_id, client, *rev);
      if (names.empty()) return std::nullopt;
      if (q->qtype != dns::kTypePtr) return dns::build_response(msg, *q, 0, {}, {}, kTtl);
      return dns::build_response(msg, *q, 0, {}, names, kTtl);
    }
    auto ips = dns_lookup(recs_, opt_.network_id, client, q->name);
    if (ips.empty()) return std::nullopt;
    // The name is ours: A records, or an empty answer for other types (AAAA ...).
    if (q->qtype != dns::kTypeA) return dns::build_response(msg, *q, 0, {}, {}, kTtl);
    return dns::build_response(msg, *q, 0, ips, {}, kTtl);
  };
  if (records_.refresh()) recs_ = parse_dns_records(records_.text());
  if (auto r = ours()) return *r;
  // A miss reads the records again before the query goes upstream: a container that has just
  // joined must be found at once (see WatchedFile::refresh).
  if (records_.refresh(true)) {
    recs_ = parse_dns_records(records_.text());
    if (auto r = ours()) return *r;
  }
  if (conf_.refresh()) ups_ = parse_dns_conf(conf_.text());
  if (!ups_.forward || ups_.servers.empty())
    return dns::build_response(msg, *q, ups_.forward ? dns::kServFail : dns::kRefused, {}, {}, 0);
  *forward = true;
  return {};
}

void Server::send_upstream(Forward& f) {
  const auto& [ip, port] = ups_.servers[f.upstream];
  f.fd.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(ip.v);
  if (f.fd && ::connect(f.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
    (void)::send(f.fd.get(), f.query.data(), f.query.size(), 0);
  f.deadline = now_ms() + kForwardTimeoutMs;
}

void Server::start_forward(std::vector<uint8_t> query, const sockaddr_in* client, int tcp_client) {
  if (fwd_.size() > 1024) return;  // overloaded: drop, the client retries
  Forward f;
  f.query = std::move(query);
  if (client) f.client = *client;
  f.tcp_client = tcp_client;
  send_upstream(f);
  fwd_.push_back(std::move(f));
}

void Server::tcp_reply(int fd, const uint8_t* msg, size_t len) {
  uint8_t hdr[2] = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  iovec iov[2] = {{hdr, 2}, {const_cast<uint8_t*>(msg), len}};
  msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  (void)::sendmsg(fd, &mh, MSG_NOSIGNAL);
}

void Server::reply(const Forward& f, const uint8_t* msg, size_t len) {
  if (f.tcp_client >= 0) {
    for (auto& c : conns_)
      if (c.fd.get() == f.tcp_client) tcp_reply(c.fd.get(), msg, len);
    return;
  }
  (void)::sendto(udp_.get(), msg, len, 0, reinterpret_cast<const sockaddr*>(&f.client),
                 sizeof f.client);
}

void Server::on_udp() {
  for (int i = 0; i < 64; ++i) {
    uint8_t buf[1500];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(udp_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) return;
    bool forward = false;
    auto out = answer(buf, static_cast<size_t>(n), Ipv4{ntohl(from.sin_addr.s_addr)}, &forward);
    if (forward) {
      start_forward(std::vector<uint8_t>(buf, buf + n), &from, -1);
    } else if (!out.empty()) {
      (void)::sendto(udp_.get(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
}

void Server::on_accept() {
  while (conns_.size() < 64) {
    int fd = ::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    conns_.push_back(TcpConn{UniqueFd(fd), {}, now_ms() + 5000});
  }
}

bool Server::on_tcp(TcpConn& c) {
  uint8_t buf[4096];
  ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EAGAIN;
  c.in.insert(c.in.end(), buf, buf + n);
  if (c.in.size() > 65537) return false;
  while (c.in.size() >= 2) {
    size_t len = static_cast<size_t>(c.in[0] << 8 | c.in[1]);
    if (c.in.size() < 2 + len) break;
    std::vector<uint8_t> msg(c.in.begin() + 2, c.in.begin() + 2 + static_cast<long>(len));
    c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<long>(len));
    sockaddr_in peer{};
    socklen_t pl = sizeof peer;
    getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&peer), &pl);
    bool forward = false;
    auto out = answer(msg.data(), msg.size(), Ipv4{ntohl(peer.sin_addr.s_addr)}, &forward);
    if (forward)
      start_forward(std::move(msg), nullptr, c.fd.get());
    else if (!out.empty())
      tcp_reply(c.fd.get(), out.data(), out.size());
    c.deadline = now_ms() + 5000;
  }
  return true;
}

bool Server::still_wanted() {
  if (!file::exists(opt_.store_dir + "/nets/" + opt_.network_id + ".json")) return false;
  if (!file::exists(opt_.store_dir + "/dns/" + opt_.network_id + ".lock")) return false;
  if (!opt_.bridge.empty() && if_nametoindex(opt_.bridge.c_str()) == 0) return false;
  return true;
}

int Server::loop(int sigfd) {
  int64_t next_check = now_ms() + 1000;
  while (true) {
    std::vector<pollfd> fds = {
        {sigfd, POLLIN, 0}, {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
    for (auto& f : fwd_) fds.push_back({f.fd.get(), POLLIN, 0});
    for (auto& c : conns_) fds.push_back({c.fd.get(), POLLIN, 0});
    int64_t wake = next_check;
    for (auto& f : fwd_) wake = std::min(wake, f.deadline);
    int timeout = static_cast<int>(std::max<int64_t>(0, wake - now_ms()));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) return 1;
    if (n > 0 && fds[0].revents) return 0;  // SIGTERM or SIGINT
    size_t i = 3;
    for (auto it = fwd_.begin(); it != fwd_.end(); ++i) {
      if (n > 0 && fds[i].revents) {
        uint8_t buf[4096];
        ssize_t k = ::recv(it->fd.get(), buf, sizeof buf, 0);
        if (k >= 12) {
          reply(*it, buf, static_cast<size_t>(k));
          it = fwd_.erase(it);
          continue;
        }
        if (k < 0 && errno == ECONNREFUSED) it->deadline = 0;  // nobody there: next server
      }
      ++it;
    }
    for (auto it = conns_.begin(); it != conns_.end(); ++i) {
      bool keep = !(n > 0 && fds[i].revents) || on_tcp(*it);
      if (!keep || now_ms() > it->deadline) {
        it = conns_.erase(it);
        continue;
      }
      ++it;
    }
    if (n > 0 && fds[1].revents) on_udp();
    if (n > 0 && fds[2].revents) on_accept();
    int64_t now = now_ms();
    for (auto it = fwd_.begin(); it != fwd_.end();) {
      if (now < it->deadline) {
        ++it;
        continue;
      }
      if (++it->upstream < ups_.servers.size()) {  // next server
        send_upstream(*it);
        ++it;
        continue;
      }
      auto q = dns::parse_query(it->query.data(), it->query.size());
      if (q) {
        auto out = dns::build_response(it->query.data(), *q, dns::kServFail, {}, {}, 0);
        reply(*it, out.data(), out.size());
      }
      it = fwd_.erase(it);
    }
    if (now >= next_check) {
      if (!still_wanted()) return 0;
      next_check = now + 1000;
    }
  }
}

void ready(int fd, std::string_view msg) {
  if (fd < 0) return;
  (void)::write(fd, msg.data(), msg.size());
  ::close(fd);
}

}  // namespace

int run_dns_server(const DnsServerOptions& opt) {
  std::string dns_dir = opt.store_dir + "/dns";
  // One responder per network: the lock says who it is.
  UniqueFd lock(::open((dns_dir + "/" + opt.network_id + ".lock").c_str(),
                       O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock) {
    ready(opt.ready_fd, fmt::format("error: open lock: {}\n", strerror(errno)));
    return 1;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    ready(opt.ready_fd, "ok (already running)\n");
    return 0;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sigfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  Server server(opt);
  if (auto r = server.bind_sockets(); !r) {
    ready(opt.ready_fd, "error: " + r.error().text() + "\n");
    return 1;
  }
  auto st = runtime::read_proc_stat(getpid());
  auto w =
      file::write_atomic(dns_dir + "/" + opt.network_id + ".pid",
                         fmt::format("{} {}\n", getpid(), st ? st->start_time : 0), 0644, false);
  if (!w) {
    ready(opt.ready_fd, "error: " + w.error().text() + "\n");
    return 1;
  }
  ready(opt.ready_fd, "ok\n");
  int rc = server.loop(sigfd.get());
  ::unlink((dns_dir + "/" + opt.network_id + ".pid").c_str());
  return rc;
}

int dns_server_main(const std::vector<std::string>& args) {
  DnsServerOptions o;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& k = args[i];
    const std::string& v = args[i + 1];
    if (k == "--store") {
      o.store_dir = v;
    } else if (k == "--network") {
      o.network_id = v;
    } else if (k == "--bridge") {
      o.bridge = v;
    } else if (k == "--listen") {
      auto ip = parse_ipv4(v);
      if (!ip) return 2;
      o.listen = *ip;
    } else if (k == "--port") {
      auto p = parse_uint(v);
      if (!p || *p > 65535) return 2;
      o.port = static_cast<uint16_t>(*p);
    } else if (k == "--ready-fd") {
      auto p = parse_uint(v);
      if (!p) return 2;
      o.ready_fd = static_cast<int>(*p);
    } else {
      return 2;
    }
  }
  if (o.store_dir.empty() || o.network_id.empty()) return 2;
  log::set_program("berth-dns");
  return run_dns_server(o);
}

}  // namespace berth::net
