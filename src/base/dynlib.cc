#include "base/dynlib.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace berth::dynlib {

Result<void*> open(const char* soname) {
  static std::mutex mu;
  static std::map<std::string, std::pair<void*, std::string>> opened;
  std::lock_guard lock(mu);
  auto it = opened.find(soname);
  if (it == opened.end()) {
    void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    const char* err = h ? nullptr : ::dlerror();
    it = opened.emplace(soname, std::make_pair(h, err ? std::string(err) : std::string())).first;
  }
  if (!it->second.first)
    return fail(
        make_error(ErrorKind::kUnavailable, "cannot load {}: {}", soname, it->second.second));
  return it->second.first;
}

bool loadable() { return true; }

Result<void> resolve(const char* soname,
                     std::initializer_list<std::pair<const char*, void**>> slots) {
  void* h = BERTH_TRY(open(soname));
  for (const auto& [name, slot] : slots) {
    *slot = ::dlsym(h, name);
    if (!*slot) return fail(make_error(ErrorKind::kUnavailable, "{}: no symbol {}", soname, name));
  }
  return {};
}

}  // namespace berth::dynlib
