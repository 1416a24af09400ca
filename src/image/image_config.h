// The image configuration (image-spec config.md): what a container of the image runs, and the
// ordered diff_ids of its layers. Also how it becomes runtime-spec defaults for `berth run`.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/digest.h"
#include "oci/spec.h"

namespace berth::image {

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string created;
  std::string author;
  // config
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  // rootfs
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;
};

Result<ImageConfig> parse_image_config(std::string_view text);
// A minimal config document for an imported root file system.
std::string image_config_json(const ImageConfig& c);

// What `berth run` takes from an image: the process (args, env, cwd, user), and the rest for
// the engine (ports, volumes, stop signal, labels).
struct RunDefaults {
  std::vector<std::string> args;  // entrypoint + cmd (cmd replaced by the user's arguments)
  std::vector<std::string> env;   // PATH added when the image has none
  std::string cwd = "/";
  std::string user;  // as written in the image ("1000:1000", "nobody", "")
  std::vector<std::string> exposed_ports;
  std::vector<std::string> volumes;
  std::string stop_signal = "SIGTERM";
  std::map<std::string, std::string> labels;
};

// user_cmd replaces the image's Cmd when not empty; user_entrypoint (when set) replaces its
// Entrypoint (and then the image's Cmd is dropped, as Docker does).
RunDefaults run_defaults(const ImageConfig& c, const std::vector<std::string>& user_cmd = {},
                         const std::optional<std::vector<std::string>>& user_entrypoint = {});

// Resolves "user[:group]" (names or numbers) against the rootfs's /etc/passwd and /etc/group,
// read inside rootfs_fd (no symlink can leave it). Numbers need no files.
Result<oci::User> resolve_user(int rootfs_fd, std::string_view user);

// Writes the defaults into a config.json document (process.args, env, cwd, user, and the
// stop signal / labels as annotations).
void apply_to_spec(const RunDefaults& d, const oci::User& user, nlohmann::json& spec);

}  // namespace berth::image
