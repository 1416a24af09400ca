#include "vm/kernel.h"

#include <dirent.h>
#include <string.h>

#include <functional>
#include <set>

#include "base/file.h"
#include "base/path.h"
#include "base/strings.h"

namespace berth::vm {

std::string default_vm_dir() {
  const char* e = getenv("BERTH_VM_DIR");
  return e && *e ? e : "/var/lib/berth/vm";
}

Result<Kernel> load_kernel(const std::string& dir) {
  Kernel k;
  k.dir = dir;
  k.version = path::basename(dir);
  k.vmlinux = path::join(dir, "vmlinux");
  if (!file::exists(k.vmlinux))
    return fail(make_error(ErrorKind::kUnavailable,
                           "no VM kernel: {} is missing (run scripts/vm-kernel.sh)", k.vmlinux));
  auto dep = file::read(path::join(dir, "modules.dep"));
  if (!dep)
    return fail(make_error(ErrorKind::kUnavailable,
                           "no VM kernel: {}/modules.dep is missing (run scripts/vm-kernel.sh)",
                           dir));
  k.modules_dep = std::move(*dep);
  return k;
}

Result<Kernel> find_kernel(const std::string& vm_dir) {
  if (const char* e = getenv("BERTH_VM_KERNEL"); e && *e) return load_kernel(e);
  std::string base = path::join(vm_dir, "kernel");
  std::string best;
  if (DIR* d = opendir(base.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string_view n = e->d_name;
      if (n.ends_with(".tmp")) continue;
      if (!file::exists(path::join(path::join(base, n), "vmlinux"))) continue;
      if (best.empty() || strverscmp(best.c_str(), e->d_name) < 0) best = e->d_name;
    }
    closedir(d);
  }
  if (best.empty())
    return fail(make_error(ErrorKind::kUnavailable,
                           "no VM kernel in {} (run scripts/vm-kernel.sh, or set BERTH_VM_KERNEL)",
                           base));
  return load_kernel(path::join(base, best));
}

std::string module_name(std::string_view p) {
  std::string n = path::basename(p);
  if (auto i = n.find(".ko"); i != std::string::npos) n.resize(i);
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

std::map<std::string, ModuleInfo> parse_modules_dep(std::string_view text) {
  std::map<std::string, ModuleInfo> out;
  for (const auto& line : split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    ModuleInfo m;
    m.path = std::string(trim(std::string_view(line).substr(0, colon)));
    if (m.path.empty()) continue;
    for (const auto& d : split(std::string_view(line).substr(colon + 1), ' ')) {
      std::string_view t = trim(d);
      if (!t.empty()) m.deps.push_back(module_name(t));
    }
    out[module_name(m.path)] = std::move(m);
  }
  return out;
}

Result<std::vector<std::string>> resolve_modules(const std::map<std::string, ModuleInfo>& deps,
                                                 const std::vector<std::string>& wanted) {
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<Result<void>(const std::string&)> visit =
      [&](const std::string& name) -> Result<void> {
    std::string n = module_name(name);
    if (done.count(n)) return {};
    auto it = deps.find(n);
    if (it == deps.end()) return {};  // built in
    if (!visiting.insert(n).second)
      return fail(invalid("modules.dep: dependency cycle through {}", n));
    for (const auto& d : it->second.deps) BERTH_CHECK(visit(d));
    visiting.erase(n);
    done.insert(n);
    order.push_back(n);
    return {};
  };
  for (const auto& w : wanted) BERTH_CHECK(visit(w));
  return order;
}

}  // namespace berth::vm
