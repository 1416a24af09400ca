// From `berth run` options and an image to an OCI config.json: a pure function of its inputs
// (unit-tested), with Docker's defaults: the default capability set, the default seccomp
// profile (src/engine/data/seccomp_default.json, berth's own), masked /proc paths, and
// rlimits clamped to what this host allows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/run_options.h"
#include "image/image_config.h"
#include "oci/spec.h"

namespace berth::engine {

// A mount with its host side resolved (volumes already turned into directories).
struct ResolvedMount {
  std::string type;    // bind or tmpfs
  std::string source;  // host path (bind)
  std::string target;
  bool readonly = false;
  std::vector<std::string> options;
};

struct SpecInputs {
  std::string id;
  RunOptions opts;
  image::RunDefaults image;  // entrypoint/cmd/env/cwd/user from the image
  oci::User user;            // opts.user or the image's, resolved in the rootfs
  std::string rootfs;        // absolute
  std::string etc_dir;       // holds hosts, resolv.conf and hostname for the container
  std::string netns;         // "" = a new private network namespace; "host"; or a path
  std::vector<ResolvedMount> mounts;
  std::string init_binary;           // host path of the --init binary
  nlohmann::json seccomp;            // the default profile (ignored with unconfined/privileged)
  std::vector<oci::Device> devices;  // --device, already looked up on the host
  // The host's hard rlimits, for clamping --ulimit (resource -> hard limit).
  std::function<uint64_t(int resource)> host_hard_limit;
};

struct BuiltSpec {
  nlohmann::json config;
  std::vector<std::string> warnings;  // said to the user once (clamped rlimits ...)
};

Result<BuiltSpec> build_spec(const SpecInputs& in);

// Docker's default capabilities.
const std::vector<std::string>& default_capabilities();
// The embedded default seccomp profile.
const nlohmann::json& default_seccomp_profile();
// Looks a --device up on the host: HOST[:CONTAINER[:PERMS]].
Result<oci::Device> lookup_device(std::string_view spec, std::string* perms);

}  // namespace berth::engine
