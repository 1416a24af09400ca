#include "vm/protocol.h"

namespace berth::vm::proto {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kHello:
      return "hello";
    case Type::kConfig:
      return "config";
    case Type::kReady:
      return "ready";
    case Type::kError:
      return "error";
    case Type::kStart:
      return "start";
    case Type::kStarted:
      return "started";
    case Type::kStdin:
      return "stdin";
    case Type::kStdinEof:
      return "stdin-eof";
    case Type::kStdout:
      return "stdout";
    case Type::kStderr:
      return "stderr";
    case Type::kSignal:
      return "signal";
    case Type::kResize:
      return "resize";
    case Type::kExit:
      return "exit";
    case Type::kAck:
      return "ack";
    case Type::kLog:
      return "log";
  }
  return "unknown";
}

namespace {

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace

std::string encode_frame(Type type, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  put_le(out, payload.size(), 4);
  out.push_back(static_cast<char>(type));
  out.append(payload);
  return out;
}

void Decoder::feed(const char* data, size_t n) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1 << 16) && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

Result<std::optional<Frame>> Decoder::next() {
  if (buffered() < kHeaderSize) return std::optional<Frame>();
  std::string_view in(buf_);
  in.remove_prefix(pos_);
  uint64_t len = get_le(in, 4);
  uint8_t type = static_cast<uint8_t>(in[4]);
  if (type == 0 || type > kLastType)
    return fail(invalid("agent protocol: unknown frame type {}", type));
  if (len > kMaxPayload)
    return fail(invalid("agent protocol: frame of {} bytes is over the limit", len));
  if (in.size() < kHeaderSize + len) return std::optional<Frame>();
  Frame f{static_cast<Type>(type), std::string(in.substr(kHeaderSize, len))};
  pos_ += kHeaderSize + len;
  return std::optional<Frame>(std::move(f));
}

void Writer::u32(uint32_t v) { put_le(out_, v, 4); }
void Writer::u64(uint64_t v) { put_le(out_, v, 8); }
void Writer::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  out_.append(s);
}
void Writer::strs(const std::vector<std::string>& v) {
  u32(static_cast<uint32_t>(v.size()));
  for (const auto& s : v) str(s);
}

Result<std::string_view> Reader::take(size_t n) {
  if (in_.size() - pos_ < n) return fail(invalid("agent protocol: truncated message"));
  std::string_view s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

Result<uint8_t> Reader::u8() {
  std::string_view s = BERTH_TRY(take(1));
  return static_cast<uint8_t>(s[0]);
}
Result<uint32_t> Reader::u32() {
  std::string_view s = BERTH_TRY(take(4));
  return static_cast<uint32_t>(get_le(s, 4));
}
Result<uint64_t> Reader::u64() {
  std::string_view s = BERTH_TRY(take(8));
  return get_le(s, 8);
}
Result<std::string> Reader::str() {
  uint32_t n = BERTH_TRY(u32());
  std::string_view s = BERTH_TRY(take(n));
  return std::string(s);
}
Result<std::vector<std::string>> Reader::strs() {
  uint32_t n = BERTH_TRY(u32());
  // Each string costs at least 4 bytes: a count beyond that is a lie.
  if (n > (in_.size() - pos_) / 4) return fail(invalid("agent protocol: truncated message"));
  std::vector<std::string> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) v.push_back(BERTH_TRY(str()));
  return v;
}

std::string encode_config(const GuestConfig& c) {
  Writer w;
  w.str(c.hostname);
  w.str(c.domainname);
  w.u8(c.root_readonly);
  w.u8(c.root_in_initramfs);
  w.u32(static_cast<uint32_t>(c.mounts.size()));
  for (const auto& m : c.mounts) {
    w.u8(static_cast<uint8_t>(m.kind));
    w.str(m.source);
    w.str(m.target);
    w.str(m.fstype);
    w.u64(m.flags);
    w.str(m.data);
    w.str(m.content);
  }
  w.strs(c.masked_paths);
  w.strs(c.readonly_paths);
  w.u32(static_cast<uint32_t>(c.sysctl.size()));
  for (const auto& [k, v] : c.sysctl) {
    w.str(k);
    w.str(v);
  }
  w.str(c.net.ifname);
  w.str(c.net.mac);
  w.str(c.net.address);
  w.u32(c.net.prefix);
  w.str(c.net.gateway);
  const GuestProcess& p = c.process;
  w.strs(p.args);
  w.strs(p.env);
  w.str(p.cwd);
  w.u32(p.uid);
  w.u32(p.gid);
  w.u32(static_cast<uint32_t>(p.additional_gids.size()));
  for (uint32_t g : p.additional_gids) w.u32(g);
  w.u8(p.umask.has_value());
  w.u32(p.umask.value_or(0));
  w.u8(p.terminal);
  w.u32(p.rows);
  w.u32(p.cols);
  w.u32(static_cast<uint32_t>(p.rlimits.size()));
  for (const auto& r : p.rlimits) {
    w.u32(r.resource);
    w.u64(r.soft);
    w.u64(r.hard);
  }
  w.u8(p.capabilities.has_value());
  if (p.capabilities) {
    w.u32(static_cast<uint32_t>(p.capabilities->size()));
    for (uint64_t v : *p.capabilities) w.u64(v);
  }
  w.u8(p.no_new_privileges);
  w.u8(p.oom_score_adj.has_value());
  w.u32(static_cast<uint32_t>(p.oom_score_adj.value_or(0)));
  return w.take();
}

Result<GuestConfig> decode_config(std::string_view payload) {
  Reader r(payload);
  GuestConfig c;
  c.hostname = BERTH_TRY(r.str());
  c.domainname = BERTH_TRY(r.str());
  c.root_readonly = BERTH_TRY(r.u8()) != 0;
  c.root_in_initramfs = BERTH_TRY(r.u8()) != 0;
  uint32_t n = BERTH_TRY(r.u32());
  if (n > payload.size()) return fail(invalid("agent protocol: truncated message"));
  for (uint32_t i = 0; i < n; ++i) {
    GuestMount m;
    uint8_t kind = BERTH_TRY(r.u8());
    if (kind > static_cast<uint8_t>(GuestMount::Kind::kFile))
      return fail(invalid("agent protocol: unknown mount kind {}", kind));
    m.kind = static_cast<GuestMount::Kind>(kind);
    m.source = BERTH_TRY(r.str());
    m.target = BERTH_TRY(r.str());
    m.fstype = BERTH_TRY(r.str());
    m.flags = BERTH_TRY(r.u64());
    m.data = BERTH_TRY(r.str());
    m.content = BERTH_TRY(r.str());
    c.mounts.push_back(std::move(m));
  }
  c.masked_paths = BERTH_TRY(r.strs());
  c.readonly_paths = BERTH_TRY(r.strs());
  n = BERTH_TRY(r.u32());
  if (n > payload.size()) return fail(invalid("agent protocol: truncated message"));
  for (uint32_t i = 0; i < n; ++i) {
    std::string k = BERTH_TRY(r.str());
    std::string v = BERTH_TRY(r.str());
    c.sysctl.emplace_back(std::move(k), std::move(v));
  }
  c.net.ifname = BERTH_TRY(r.str());
  c.net.mac = BERTH_TRY(r.str());
  c.net.address = BERTH_TRY(r.str());
  c.net.prefix = BERTH_TRY(r.u32());
  c.net.gateway = BERTH_TRY(r.str());
  GuestProcess& p = c.process;
  p.args = BERTH_TRY(r.strs());
  p.env = BERTH_TRY(r.strs());
  p.cwd = BERTH_TRY(r.str());
  p.uid = BERTH_TRY(r.u32());
  p.gid = BERTH_TRY(r.u32());
  n = BERTH_TRY(r.u32());
  if (n > payload.size()) return fail(invalid("agent protocol: truncated message"));
  for (uint32_t i = 0; i < n; ++i) p.additional_gids.push_back(BERTH_TRY(r.u32()));
  bool has_umask = BERTH_TRY(r.u8()) != 0;
  uint32_t umask = BERTH_TRY(r.u32());
  if (has_umask) p.umask = umask;
  p.terminal = BERTH_TRY(r.u8()) != 0;
  p.rows = BERTH_TRY(r.u32());
  p.cols = BERTH_TRY(r.u32());
  n = BERTH_TRY(r.u32());
  if (n > payload.size()) return fail(invalid("agent protocol: truncated message"));
  for (uint32_t i = 0; i < n; ++i) {
    GuestRlimit l;
    l.resource = BERTH_TRY(r.u32());
    l.soft = BERTH_TRY(r.u64());
    l.hard = BERTH_TRY(r.u64());
    p.rlimits.push_back(l);
  }
  if (BERTH_TRY(r.u8()) != 0) {
    n = BERTH_TRY(r.u32());
    if (n > 8) return fail(invalid("agent protocol: {} capability sets", n));
    std::vector<uint64_t> caps;
    for (uint32_t i = 0; i < n; ++i) caps.push_back(BERTH_TRY(r.u64()));
    p.capabilities = std::move(caps);
  }
  p.no_new_privileges = BERTH_TRY(r.u8()) != 0;
  bool has_oom = BERTH_TRY(r.u8()) != 0;
  uint32_t oom = BERTH_TRY(r.u32());
  if (has_oom) p.oom_score_adj = static_cast<int32_t>(oom);
  if (!r.done()) return fail(invalid("agent protocol: trailing bytes in config"));
  return c;
}

std::string encode_u32(uint32_t v) {
  Writer w;
  w.u32(v);
  return w.take();
}

Result<uint32_t> decode_u32(std::string_view payload) {
  Reader r(payload);
  uint32_t v = BERTH_TRY(r.u32());
  if (!r.done()) return fail(invalid("agent protocol: trailing bytes"));
  return v;
}

std::string encode_signal(int sig, bool all) {
  Writer w;
  w.u32(static_cast<uint32_t>(sig));
  w.u8(all);
  return w.take();
}

Result<std::pair<int, bool>> decode_signal(std::string_view payload) {
  Reader r(payload);
  uint32_t sig = BERTH_TRY(r.u32());
  uint8_t all = BERTH_TRY(r.u8());
  if (!r.done() || sig == 0 || sig > 64) return fail(invalid("agent protocol: bad signal"));
  return std::pair<int, bool>(static_cast<int>(sig), all != 0);
}

std::string encode_resize(uint32_t rows, uint32_t cols) {
  Writer w;
  w.u32(rows);
  w.u32(cols);
  return w.take();
}

Result<std::pair<uint32_t, uint32_t>> decode_resize(std::string_view payload) {
  Reader r(payload);
  uint32_t rows = BERTH_TRY(r.u32());
  uint32_t cols = BERTH_TRY(r.u32());
  if (!r.done()) return fail(invalid("agent protocol: trailing bytes"));
  return std::pair<uint32_t, uint32_t>(rows, cols);
}

}  // namespace berth::vm::proto
