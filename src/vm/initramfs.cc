#include "vm/initramfs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/file.h"
#include "base/path.h"
#include "vm/cpio.h"
#include "vm/sha256.h"

extern "C" const char berth_agent_start[];
extern "C" const char berth_agent_end[];
extern "C" const char berth_agent_digest[64];

namespace {
constexpr size_t kKeepInitramfs = 12;  // kernels x module sets in use
}

namespace berth::vm {

std::string_view agent_binary() {
  return std::string_view(berth_agent_start,
                          static_cast<size_t>(berth_agent_end - berth_agent_start));
}

std::string_view agent_digest() { return std::string_view(berth_agent_digest, 64); }

// One per agent build and kernel: older ones belong to builds that are gone. QEMU reads the
// initramfs whole when it starts, so a running VM does not need its file any more.
void evict_old(const std::string& cache_dir, std::string_view prefix, size_t keep) {
  DIR* d = ::opendir(cache_dir.c_str());
  if (!d) return;
  std::vector<std::pair<int64_t, std::string>> found;
  while (dirent* e = ::readdir(d)) {
    if (!std::string_view(e->d_name).starts_with(prefix)) continue;
    std::string p = path::join(cache_dir, e->d_name);
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) found.emplace_back(st.st_mtim.tv_sec, p);
  }
  ::closedir(d);
  if (found.size() <= keep) return;
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep < found.size(); ++i) ::unlink(found[i].second.c_str());
}

std::string_view strip_module_signature(std::string_view ko) {
  constexpr std::string_view kMarker = "~Module signature appended~\n";
  constexpr size_t kInfo = 12;  // struct module_signature; sig_len (be32) last
  if (!ko.ends_with(kMarker) || ko.size() < kMarker.size() + kInfo) return ko;
  size_t info = ko.size() - kMarker.size() - kInfo;
  uint32_t sig_len = 0;
  for (int i = 0; i < 4; ++i)
    sig_len = (sig_len << 8) | static_cast<unsigned char>(ko[info + 8 + static_cast<size_t>(i)]);
  if (sig_len > info) return ko;
  return ko.substr(0, info - sig_len);
}

std::string build_initramfs(std::string_view agent,
                            const std::vector<std::pair<std::string, std::string>>& modules) {
  CpioWriter w;
  w.dir("dev");
  w.char_device("dev/console", 5, 1);
  w.dir("lib");
  w.dir("lib/modules");
  for (const auto& [name, content] : modules)
    w.file("lib/modules/" + name + ".ko", strip_module_signature(content));
  w.file("init", agent, 0755);
  return w.finish();
}

Result<std::string> ensure_initramfs(const Kernel& k, const std::string& cache_dir,
                                     const std::vector<std::string>& wanted) {
  // The agent's digest comes from the build (agent_blob.S): hashing it here, on every start,
  // was a measurable part of a VM's host-side start.
  Sha256 h;
  h.update("berth-initramfs-v4");  // bump when build_initramfs changes
  h.update(agent_digest());
  h.update(k.dir);
  h.update(k.modules_dep);
  for (const auto& m : wanted) h.update(m + "\n");
  std::string out = path::join(cache_dir, "initramfs-" + h.hex().substr(0, 24) + ".cpio");
  if (file::exists(out)) return out;

  std::string_view agent = agent_binary();
  std::vector<std::pair<std::string, std::string>> modules;
  for (const auto& [name, info] : parse_modules_dep(k.modules_dep)) {
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    std::string p = path::join(path::join(k.dir, "modules"), info.path);
    std::string content = BERTH_TRY(file::read(p));
    modules.emplace_back(name, std::move(content));
  }
  BERTH_CHECK(file::mkdir_all(cache_dir, 0700));
  BERTH_CHECK_CTX(file::write_atomic(out, build_initramfs(agent, modules), 0600, false),
                  "write the initramfs");
  evict_old(cache_dir, "initramfs-", kKeepInitramfs);
  return out;
}

}  // namespace berth::vm
