// DNS messages (RFC 1035), just what the embedded responder needs: read a query's question,
// write an answer with A or PTR records or an error code, and (for tests and forwarding)
// write a query and read an answer's addresses. Pure; every length is checked, since queries
// come from containers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "net/ip.h"

namespace berth::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kNoError = 0;
inline constexpr uint8_t kFormErr = 1;
inline constexpr uint8_t kServFail = 2;
inline constexpr uint8_t kNxDomain = 3;
inline constexpr uint8_t kRefused = 5;

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;  // lower case, no trailing dot ("web", "2.0.87.10.in-addr.arpa")
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just after the question in the message
};

// Reads the header and the first question. Rejects responses and malformed messages.
Result<Query> parse_query(const uint8_t* msg, size_t len);

// An answer to q (the question copied from msg): rcode, and A records or PTR names.
std::vector<uint8_t> build_response(const uint8_t* msg, const Query& q, uint8_t rcode,
                                    const std::vector<Ipv4>& a, const std::vector<std::string>& ptr,
                                    uint32_t ttl);

// The address of a reverse name "d.c.b.a.in-addr.arpa".
std::optional<Ipv4> parse_reverse_name(std::string_view name);
std::string reverse_name(Ipv4 ip);

// For tests and tools: a standard query, and the rcode and A records of a response.
std::vector<uint8_t> build_query(uint16_t id, std::string_view name, uint16_t qtype);
struct Answer {
  uint16_t id = 0;
  uint8_t rcode = 0;
  std::vector<Ipv4> a;
  std::vector<std::string> ptr;
};
Result<Answer> parse_response(const uint8_t* msg, size_t len);

}  // namespace berth::net::dns
