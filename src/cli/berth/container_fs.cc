// cp (both ways) and export.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/defer.h"
#include "base/file.h"
#include "base/path.h"
#include "cli/berth/engine_cli.h"
#include "engine/copy.h"
#include "engine/export.h"
#include "oci/spec.h"
#include "sys/in_root.h"

namespace berth::cli {
namespace {

struct ContainerPath {
  std::string container;  // empty: a host path
  std::string path;
};

ContainerPath split_arg(const std::string& a) {
  size_t colon = a.find(':');
  // "NAME:/path" names a container; a host path has no colon before its first '/'.
  if (colon != std::string::npos && colon > 0 && a.find('/') > colon)
    return {a.substr(0, colon), a.substr(colon + 1)};
  return {"", a};
}

// The container's root as a directory fd: the running container's own view (with its
// volumes), or the snapshot for a stopped one.
Result<UniqueFd> container_root(engine::Engine& e, const engine::Container& c) {
  if (c.status.state == "running" || c.status.state == "paused") {
    std::string p = fmt::format("/proc/{}/root", c.status.pid);
    UniqueFd fd(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail(sys_error(errno, "open {}", p));
    return fd;
  }
  std::string cfg =
      BERTH_TRY(file::read(path::join(e.paths().container(c.record.id), "config.json")));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(cfg));
  UniqueFd fd(::open(spec.root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open the container's root {}", spec.root.path));
  return fd;
}

// Opens the parent of p inside root (no symlink leaves root) as a real directory fd, and
// gives the last component's name.
Result<std::pair<UniqueFd, std::string>> parent_in_root(int root, const std::string& p) {
  std::string clean = path::clean("/" + p);
  std::string parent = path::dirname(clean), name = path::basename(clean);
  UniqueFd dir = BERTH_TRY(sys::open_in_root(root, parent));
  UniqueFd real(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!real) return fail(sys_error(errno, "open {}", parent));
  return std::make_pair(std::move(real), name);
}

Result<void> copy(engine::Engine& e, const ContainerPath& src, const ContainerPath& dst) {
  // Source: a directory fd and a name.
  UniqueFd src_root, dst_root;
  std::pair<UniqueFd, std::string> s, d;
  if (!src.container.empty()) {
    engine::Container c = BERTH_TRY(e.get(src.container));
    src_root = BERTH_TRY(container_root(e, c));
    s = BERTH_TRY(parent_in_root(src_root.get(), src.path));
    // The source itself may be a symlink inside the container: resolve it there too.
    UniqueFd target = BERTH_TRY(sys::open_in_root(src_root.get(), src.path));
    (void)target;
  } else {
    std::string abs = path::clean(src.path);
    UniqueFd pd(::open(path::dirname(abs).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pd) return fail(sys_error(errno, "open {}", path::dirname(abs)));
    s = {std::move(pd), path::basename(abs)};
  }
  if (!dst.container.empty()) {
    engine::Container c = BERTH_TRY(e.get(dst.container));
    dst_root = BERTH_TRY(container_root(e, c));
    // Into an existing directory: keep the source's name.
    auto existing = sys::open_in_root(dst_root.get(), dst.path);
    struct stat st {};
    if (existing && ::fstat(existing->get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      UniqueFd real(::openat(existing->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      d = {std::move(real), s.second};
    } else {
      d = BERTH_TRY(parent_in_root(dst_root.get(), dst.path));
    }
  } else {
    std::string abs = path::clean(dst.path);
    struct stat st {};
    if (::stat(abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      UniqueFd dd(::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      d = {std::move(dd), s.second};
    } else {
      UniqueFd pd(::open(path::dirname(abs).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!pd) return fail(sys_error(errno, "open {}", path::dirname(abs)));
      d = {std::move(pd), path::basename(abs)};
    }
  }
  return engine::copy_entry(s.first.get(), s.second, d.first.get(), d.second);
}

void add(CLI::App& app, BerthGlobals& g) {
  auto* sub = app.add_subcommand(
      "cp", "copy files between a container and the host: CONTAINER:PATH HOSTPATH or back");
  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  sub->add_option("source", *src, "CONTAINER:PATH or a host path")->required();
  sub->add_option("destination", *dst, "CONTAINER:PATH or a host path")->required();
  on_berth_run(sub, [&g, src, dst]() -> Result<int> {
    ContainerPath s = split_arg(*src), d = split_arg(*dst);
    if (s.container.empty() == d.container.empty())
      return fail(invalid("cp: exactly one side must be CONTAINER:PATH"));
    auto e = BERTH_TRY(open_engine(g));
    BERTH_CHECK_CTX(copy(*e, s, d), "cp {} {}", *src, *dst);
    return 0;
  });
}

// export: the container's rootfs as the container changed it (the snapshot's merged view on
// the host: no volumes, no /proc), to -o FILE (written atomically) or to stdout.
Result<int> export_container(engine::Engine& e, const std::string& ref, const std::string& out) {
  engine::Container c = BERTH_TRY(e.get(ref));
  BERTH_CHECK(e.ensure_rootfs(c));
  std::string cfg =
      BERTH_TRY(file::read(path::join(e.paths().container(c.record.id), "config.json")));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(cfg));
  UniqueFd root(::open(spec.root.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail(sys_error(errno, "open the root of {}", c.record.name));
  if (out.empty() || out == "-") {
    if (::isatty(1))
      return fail(invalid("export: stdout is a terminal; redirect it or use -o FILE"));
    BERTH_CHECK(engine::write_tree_tar(root.get(), 1));
    return 0;
  }
  std::string tmp = out + ".berth-tmp";
  UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!f) return fail(sys_error(errno, "create {}", tmp));
  Defer rm_tmp([&] { ::unlink(tmp.c_str()); });
  BERTH_CHECK(engine::write_tree_tar(root.get(), f.get()));
  if (::fsync(f.get()) != 0) return fail(sys_error(errno, "fsync {}", tmp));
  if (::rename(tmp.c_str(), out.c_str()) != 0) return fail(sys_error(errno, "rename to {}", out));
  rm_tmp.dismiss();
  return 0;
}

void add_export(CLI::App& app, BerthGlobals& g) {
  auto* sub = app.add_subcommand("export", "write a container's file system as a tar archive");
  auto ref = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  sub->add_option("-o,--output", *out, "write to this file instead of stdout");
  sub->add_option("container", *ref, "the container")->required();
  on_berth_run(sub, [&g, ref, out]() -> Result<int> {
    auto e = BERTH_TRY(open_engine(g));
    return export_container(*e, *ref, *out);
  });
}

const BerthVerbs kVerbs("container-fs", {"cp", "export"}, [](CLI::App& app, BerthGlobals& g) {
  add(app, g);
  add_export(app, g);
});

}  // namespace
}  // namespace berth::cli
