#include "image/image_config.h"

#include "base/file.h"
#include "base/strings.h"
#include "image/json_util.h"
#include "oci/json_read.h"
#include "sys/in_root.h"

namespace berth::image {

using oci::jr::Obj;

namespace {

std::vector<std::string> object_keys(const Obj& o, const char* key) {
  std::vector<std::string> out;
  if (auto m = o.object(key)) out = m->keys();
  return out;
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view text) {
  return ::berth::image::parse_untrusted(text, "image config", [](const Obj& o) {
    ImageConfig c;
    c.architecture = o.string("architecture");
    c.os = o.string("os");
    c.variant = o.string("variant");
    c.created = o.string("created");
    c.author = o.string("author");
    if (auto cfg = o.object("config")) {
      c.user = cfg->string("User");
      c.exposed_ports = object_keys(*cfg, "ExposedPorts");
      c.env = cfg->strings("Env");
      c.entrypoint = cfg->strings("Entrypoint");
      c.cmd = cfg->strings("Cmd");
      c.volumes = object_keys(*cfg, "Volumes");
      c.working_dir = cfg->string("WorkingDir");
      c.labels = cfg->string_map("Labels");
      c.stop_signal = cfg->string("StopSignal");
    }
    if (auto rootfs = o.object("rootfs")) {
      std::string type = rootfs->string("type", true);
      if (type != "layers") oci::jr::bad(rootfs->where("type"), "expected \"layers\"");
      std::vector<std::string> ids = rootfs->strings("diff_ids");
      for (size_t i = 0; i < ids.size(); ++i) {
        auto d = Digest::parse(ids[i]);
        if (!d) oci::jr::bad(fmt::format("rootfs.diff_ids[{}]", i), d.error().message());
        c.diff_ids.push_back(*d);
      }
    }
    for (const auto& h : o.array("history")) {
      HistoryEntry e;
      e.created = h.string("created");
      e.created_by = h.string("created_by");
      e.author = h.string("author");
      e.comment = h.string("comment");
      e.empty_layer = h.boolean("empty_layer");
      c.history.push_back(std::move(e));
    }
    return c;
  });
}

std::string image_config_json(const ImageConfig& c) {
  nlohmann::json j;
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.variant.empty()) j["variant"] = c.variant;
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  nlohmann::json cfg = nlohmann::json::object();
  if (!c.user.empty()) cfg["User"] = c.user;
  if (!c.env.empty()) cfg["Env"] = c.env;
  if (!c.entrypoint.empty()) cfg["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) cfg["Cmd"] = c.cmd;
  if (!c.working_dir.empty()) cfg["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) cfg["Labels"] = c.labels;
  if (!c.stop_signal.empty()) cfg["StopSignal"] = c.stop_signal;
  for (const auto& p : c.exposed_ports) cfg["ExposedPorts"][p] = nlohmann::json::object();
  for (const auto& v : c.volumes) cfg["Volumes"][v] = nlohmann::json::object();
  j["config"] = cfg;
  j["rootfs"]["type"] = "layers";
  j["rootfs"]["diff_ids"] = nlohmann::json::array();
  for (const auto& d : c.diff_ids) j["rootfs"]["diff_ids"].push_back(d.str());
  j["history"] = nlohmann::json::array();
  for (const auto& h : c.history) {
    nlohmann::json e;
    if (!h.created.empty()) e["created"] = h.created;
    if (!h.created_by.empty()) e["created_by"] = h.created_by;
    if (!h.comment.empty()) e["comment"] = h.comment;
    if (h.empty_layer) e["empty_layer"] = true;
    j["history"].push_back(e);
  }
  return j.dump();
}

RunDefaults run_defaults(const ImageConfig& c, const std::vector<std::string>& user_cmd,
                         const std::optional<std::vector<std::string>>& user_entrypoint) {
  RunDefaults d;
  std::vector<std::string> entry = user_entrypoint ? *user_entrypoint : c.entrypoint;
  std::vector<std::string> cmd = !user_cmd.empty() ? user_cmd
                                 : user_entrypoint ? std::vector<std::string>{}
                                                   : c.cmd;
  d.args = entry;
  d.args.insert(d.args.end(), cmd.begin(), cmd.end());
  d.env = c.env;
  bool has_path = false;
  for (const auto& e : d.env) has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path)
    d.env.insert(d.env.begin(),
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!c.working_dir.empty()) d.cwd = c.working_dir;
  d.user = c.user;
  d.exposed_ports = c.exposed_ports;
  d.volumes = c.volumes;
  if (!c.stop_signal.empty()) d.stop_signal = c.stop_signal;
  d.labels = c.labels;
  return d;
}

namespace {

// Finds name (or a numeric id) in a passwd/group file: returns the fields of the line.
std::optional<std::vector<std::string>> find_entry(const std::string& text, std::string_view key,
                                                   bool by_id) {
  for (const auto& line : split(text, '\n')) {
    std::vector<std::string> f = split(line, ':');
    if (f.size() < 4) continue;
    if ((by_id ? f[2] : f[0]) == key) return f;
  }
  return std::nullopt;
}

std::string read_in_root(int rootfs_fd, const char* path) {
  auto fd = sys::open_in_root(rootfs_fd, path);
  if (!fd) return "";
  auto text = file::read(sys::fd_path(fd->get()));
  return text ? *text : "";
}

}  // namespace

Result<oci::User> resolve_user(int rootfs_fd, std::string_view user) {
  oci::User u;
  if (user.empty()) return u;
  std::string_view name = user, group;
  if (size_t colon = user.find(':'); colon != std::string_view::npos) {
    name = user.substr(0, colon);
    group = user.substr(colon + 1);
  }
  std::string passwd = read_in_root(rootfs_fd, "/etc/passwd");
  auto num = parse_uint(name);
  auto pw = find_entry(passwd, name, num.has_value());
  if (num) {
    if (*num > UINT32_MAX) return fail(invalid("user {:?}: uid out of range", std::string(user)));
    u.uid = static_cast<uint32_t>(*num);
    if (pw) u.gid = static_cast<uint32_t>(parse_uint((*pw)[3]).value_or(0));
  } else {
    if (!pw)
      return fail(make_error(ErrorKind::kNotFound, "user {:?}: no such user in the image",
                             std::string(name)));
    u.uid = static_cast<uint32_t>(parse_uint((*pw)[2]).value_or(0));
    u.gid = static_cast<uint32_t>(parse_uint((*pw)[3]).value_or(0));
    u.username = std::string(name);
  }
  if (!group.empty()) {
    auto gnum = parse_uint(group);
    if (gnum) {
      if (*gnum > UINT32_MAX)
        return fail(invalid("user {:?}: gid out of range", std::string(user)));
      u.gid = static_cast<uint32_t>(*gnum);
    } else {
      auto gr = find_entry(read_in_root(rootfs_fd, "/etc/group"), group, false);
      if (!gr)
        return fail(make_error(ErrorKind::kNotFound, "group {:?}: no such group in the image",
                               std::string(group)));
      u.gid = static_cast<uint32_t>(parse_uint((*gr)[2]).value_or(0));
    }
  }
  return u;
}

void apply_to_spec(const RunDefaults& d, const oci::User& user, nlohmann::json& spec) {
  auto& p = spec["process"];
  p["args"] = d.args;
  p["env"] = d.env;
  p["cwd"] = d.cwd;
  p["user"]["uid"] = user.uid;
  p["user"]["gid"] = user.gid;
  if (!user.additional_gids.empty()) p["user"]["additionalGids"] = user.additional_gids;
  spec["annotations"]["org.opencontainers.image.stopSignal"] = d.stop_signal;
  for (const auto& [k, v] : d.labels) spec["annotations"][k] = v;
}

}  // namespace berth::image
