// The host <-> guest agent protocol, spoken over one virtio-serial port ("berth.0").
//
// A frame is a 5-byte header (payload length, u32 little-endian; type, u8) and the payload.
// The guest is not trusted: the host decodes with bounds checks and a size cap, and an
// unknown type or an oversized frame ends the session.
//
//   guest -> host  kHello      u32 protocol version, once the agent has opened the port
//   host  -> guest kConfig     GuestConfig: mounts, network, the process (not started yet)
//   guest -> host  kReady      u32 guest pid: the process is set up and waits for kStart
//   guest -> host  kError      text: setup (or exec, after kStart) failed
//   host  -> guest kStart      run the program
//   guest -> host  kStarted    the program's exec succeeded
//   host  -> guest kStdin      data for the process's stdin (or its terminal)
//   host  -> guest kStdinEof   close the process's stdin
//   guest -> host  kStdout     data from stdout (or the terminal)
//   guest -> host  kStderr     data from stderr
//   host  -> guest kSignal     u32 signal, u8 all (1: every process of the guest)
//   host  -> guest kResize     u32 rows, u32 cols (the terminal's window size)
//   guest -> host  kExit       i32 exit code (128+signal when killed), after all output
//   host  -> guest kAck        the exit record arrived; the guest may power off
//   guest -> host  kLog        text for the host's log (diagnostics)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::vm::proto {

inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 5;
inline constexpr size_t kMaxPayload = 4 << 20;  // a config with copied files fits
inline constexpr size_t kMaxData = 32 * 1024;   // one stdio chunk
inline constexpr const char* kPortName = "berth.0";

enum class Type : uint8_t {
  kHello = 1,
  kConfig,
  kReady,
  kError,
  kStart,
  kStarted,
  kStdin,
  kStdinEof,
  kStdout,
  kStderr,
  kSignal,
  kResize,
  kExit,
  kAck,
  kLog,
};
inline constexpr uint8_t kLastType = static_cast<uint8_t>(Type::kLog);
std::string_view type_name(Type t);

struct Frame {
  Type type = Type::kLog;
  std::string payload;
};

std::string encode_frame(Type type, std::string_view payload = {});

// Incremental decoder: feed() what a read returned, then next() until it yields nothing.
class Decoder {
 public:
  void feed(const char* data, size_t n);
  // A complete frame, std::nullopt when more bytes are needed, or an error for a frame that
  // is malformed (unknown type, payload over kMaxPayload).
  Result<std::optional<Frame>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

// Payload encoding: little-endian integers and length-prefixed strings.
class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void str(std::string_view s);
  void strs(const std::vector<std::string>& v);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  Result<uint8_t> u8();
  Result<uint32_t> u32();
  Result<uint64_t> u64();
  Result<std::string> str();
  Result<std::vector<std::string>> strs();
  bool done() const { return pos_ == in_.size(); }

 private:
  Result<std::string_view> take(size_t n);
  std::string_view in_;
  size_t pos_ = 0;
};

// One mount the agent makes inside the guest, in order, relative to the container's root.
struct GuestMount {
  enum class Kind : uint8_t {
    kMount = 0,     // mount(source, target, fstype, flags, data)
    kVirtiofs = 1,  // a host directory shared by virtiofsd under the tag `source`
    kFile = 2,      // a host file, copied: `content` bound over target
  };
  Kind kind = Kind::kMount;
  std::string source;
  std::string target;
  std::string fstype;
  uint64_t flags = 0;  // MS_* (MS_RDONLY ...)
  std::string data;
  std::string content;
  bool operator==(const GuestMount&) const = default;
};

struct GuestRlimit {
  uint32_t resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
  bool operator==(const GuestRlimit&) const = default;
};

struct GuestProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  bool terminal = false;
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<GuestRlimit> rlimits;
  // Capability sets (bounding, effective, inheritable, permitted, ambient); absent: all kept.
  std::optional<std::vector<uint64_t>> capabilities;
  bool no_new_privileges = false;
  std::optional<int32_t> oom_score_adj;
  bool operator==(const GuestProcess&) const = default;
};

struct GuestNet {
  std::string ifname = "eth0";
  std::string mac;      // the NIC's address (set by QEMU; for the agent to find it)
  std::string address;  // IPv4 dotted quad; empty: no network
  uint32_t prefix = 24;
  std::string gateway;  // empty: no default route
  bool operator==(const GuestNet&) const = default;
};

struct GuestConfig {
  std::string hostname;
  std::string domainname;
  bool root_readonly = false;
  bool root_in_initramfs = false;  // the root is /rootfs of the initramfs, not /dev/vda
  std::vector<GuestMount> mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<std::pair<std::string, std::string>> sysctl;
  GuestNet net;
  GuestProcess process;
  bool operator==(const GuestConfig&) const = default;
};

std::string encode_config(const GuestConfig& c);
Result<GuestConfig> decode_config(std::string_view payload);

std::string encode_u32(uint32_t v);
Result<uint32_t> decode_u32(std::string_view payload);
std::string encode_signal(int sig, bool all);
Result<std::pair<int, bool>> decode_signal(std::string_view payload);
std::string encode_resize(uint32_t rows, uint32_t cols);
Result<std::pair<uint32_t, uint32_t>> decode_resize(std::string_view payload);

}  // namespace berth::vm::proto
