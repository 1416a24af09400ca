#include "net/dns_msg.h"

#include <cctype>

#include "base/strings.h"

namespace berth::net::dns {

namespace {

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

// Writes name as labels. Labels over 63 bytes are cut (names come from berth's records).
void put_name(std::vector<uint8_t>& out, std::string_view name) {
  for (const auto& label : split(name, '.')) {
    if (label.empty()) continue;
    size_t n = std::min<size_t>(label.size(), 63);
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), label.begin(), label.begin() + static_cast<long>(n));
  }
  out.push_back(0);
}

// Reads a possibly compressed name at off; returns the offset after it (in the original
// position) and the dotted name.
Result<size_t> read_name(const uint8_t* msg, size_t len, size_t off, std::string& name,
                         bool allow_pointers) {
  size_t end = 0;
  int jumps = 0;
  size_t total = 0;
  while (true) {
    if (off >= len) return fail(invalid("dns: name runs past the message"));
    uint8_t l = msg[off];
    if ((l & 0xc0) == 0xc0) {
      if (!allow_pointers) return fail(invalid("dns: compressed name in a question"));
      if (off + 1 >= len || ++jumps > 16) return fail(invalid("dns: bad name pointer"));
      if (end == 0) end = off + 2;
      off = static_cast<size_t>((l & 0x3f) << 8 | msg[off + 1]);
      continue;
    }
    if (l & 0xc0) return fail(invalid("dns: bad label type"));
    if (l == 0) {
      if (end == 0) end = off + 1;
      break;
    }
    if (off + 1 + l > len) return fail(invalid("dns: label runs past the message"));
    total += l + 1;
    if (total > 255) return fail(invalid("dns: name too long"));
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < l; ++i)
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(msg[off + 1 + i])));
    off += 1 + l;
  }
  return end;
}

}  // namespace

Result<Query> parse_query(const uint8_t* msg, size_t len) {
  if (len < 12) return fail(invalid("dns: message shorter than a header"));
  Query q;
  q.id = get16(msg);
  q.flags = get16(msg + 2);
  if (q.flags & 0x8000) return fail(invalid("dns: not a query"));
  if (get16(msg + 4) < 1) return fail(invalid("dns: no question"));
  size_t off = BERTH_TRY(read_name(msg, len, 12, q.name, false));
  if (off + 4 > len) return fail(invalid("dns: question runs past the message"));
  q.qtype = get16(msg + off);
  q.qclass = get16(msg + off + 2);
  q.question_end = off + 4;
  return q;
}

std::vector<uint8_t> build_response(const uint8_t* msg, const Query& q, uint8_t rcode,
                                    const std::vector<Ipv4>& a, const std::vector<std::string>& ptr,
                                    uint32_t ttl) {
  std::vector<uint8_t> out;
  put16(out, q.id);
  // QR, the query's opcode and RD, AA for names berth owns, RA.
  uint16_t flags = 0x8000 | (q.flags & 0x7800) | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf);
  if (rcode == kNoError || rcode == kNxDomain) flags |= 0x0400;
  put16(out, flags);
  put16(out, 1);
  put16(out, static_cast<uint16_t>(a.size() + ptr.size()));
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), msg + 12, msg + q.question_end);
  for (const auto& ip : a) {
    put16(out, 0xc00c);  // the question's name
    put16(out, kTypeA);
    put16(out, kClassIn);
    put32(out, ttl);
    put16(out, 4);
    put32(out, ip.v);
  }
  for (const auto& name : ptr) {
    put16(out, 0xc00c);
    put16(out, kTypePtr);
    put16(out, kClassIn);
    put32(out, ttl);
    std::vector<uint8_t> rdata;
    put_name(rdata, name);
    put16(out, static_cast<uint16_t>(rdata.size()));
    out.insert(out.end(), rdata.begin(), rdata.end());
  }
  return out;
}

std::optional<Ipv4> parse_reverse_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".in-addr.arpa";
  if (!name.ends_with(kSuffix)) return std::nullopt;
  std::vector<std::string> parts = split(name.substr(0, name.size() - kSuffix.size()), '.');
  if (parts.size() != 4) return std::nullopt;
  auto ip = parse_ipv4(parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0]);
  if (!ip) return std::nullopt;
  return *ip;
}

std::string reverse_name(Ipv4 ip) {
  return fmt::format("{}.{}.{}.{}.in-addr.arpa", ip.v & 0xff, (ip.v >> 8) & 0xff,
                     (ip.v >> 16) & 0xff, ip.v >> 24);
}

std::vector<uint8_t> build_query(uint16_t id, std::string_view name, uint16_t qtype) {
  std::vector<uint8_t> out;
  put16(out, id);
  put16(out, 0x0100);  // RD
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put_name(out, name);
  put16(out, qtype);
  put16(out, kClassIn);
  return out;
}

Result<Answer> parse_response(const uint8_t* msg, size_t len) {
  if (len < 12) return fail(invalid("dns: message shorter than a header"));
  Answer a;
  a.id = get16(msg);
  uint16_t flags = get16(msg + 2);
  if (!(flags & 0x8000)) return fail(invalid("dns: not a response"));
  a.rcode = flags & 0xf;
  uint16_t qd = get16(msg + 4), an = get16(msg + 6);
  size_t off = 12;
  for (uint16_t i = 0; i < qd; ++i) {
    std::string n;
    off = BERTH_TRY(read_name(msg, len, off, n, true)) + 4;
  }
  for (uint16_t i = 0; i < an; ++i) {
    std::string n;
    off = BERTH_TRY(read_name(msg, len, off, n, true));
    if (off + 10 > len) return fail(invalid("dns: record runs past the message"));
    uint16_t type = get16(msg + off), rdlen = get16(msg + off + 8);
    off += 10;
    if (off + rdlen > len) return fail(invalid("dns: record data runs past the message"));
    if (type == kTypeA && rdlen == 4) {
      a.a.push_back(Ipv4{static_cast<uint32_t>(get16(msg + off)) << 16 | get16(msg + off + 2)});
    } else if (type == kTypePtr) {
      std::string target;
      BERTH_CHECK(read_name(msg, len, off, target, true));
      a.ptr.push_back(target);
    }
    off += rdlen;
  }
  return a;
}

}  // namespace berth::net::dns
