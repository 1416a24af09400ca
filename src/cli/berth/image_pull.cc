// berth pull, push, login, logout.
#include <unistd.h>

#include <iostream>

#include "base/dynlib.h"
#include "cli/berth/app.h"
#include "registry/client.h"
#include "registry/context.h"
#include "registry/pull.h"
#include "registry/push.h"

namespace berth::cli {
namespace {

struct PullFlags {
  std::string ref, platform;
  bool quiet = false;
  int64_t limit_rate = 0;
  int parallel = 0;
};

struct PushFlags {
  std::string src, dest;
  bool quiet = false;
  int64_t chunk = -1;
};

struct LoginFlags {
  std::string registry, user, password;
  bool password_stdin = false;
};

Result<int> do_pull(const BerthGlobals& g, const PullFlags& f) {
  // libcurl: the static berth hands the whole command to berth-dynamic (base/dynlib.h).
  if (!dynlib::loadable()) return fail(dynlib::exec_dynamic(g.argv));
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  registry::PullOptions o;
  if (!f.platform.empty()) o.platform = BERTH_TRY(image::parse_platform(f.platform));
  o.progress = !f.quiet && isatty(2);
  o.rate_limit = f.limit_rate;
  o.max_parallel = f.parallel;
  auto r = BERTH_TRY(registry::pull(*ctx.store, ctx.config, ctx.auth, f.ref, o));
  if (!f.quiet) {
    fmt::print(stderr, "{} layers fetched, {} already present{}\n", r.layers_fetched,
               r.layers_present,
               r.bytes_resumed ? fmt::format(", resumed after {} bytes", r.bytes_resumed) : "");
    fmt::print("{}\n", r.image.manifest.str());
  }
  return 0;
}

Result<int> do_push(const BerthGlobals& g, const PushFlags& f) {
  // libcurl: the static berth hands the whole command to berth-dynamic (base/dynlib.h).
  if (!dynlib::loadable()) return fail(dynlib::exec_dynamic(g.argv));
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  registry::PushOptions o;
  o.progress = !f.quiet && isatty(2);
  o.chunk_size = f.chunk;
  auto r = BERTH_TRY(registry::push(*ctx.store, ctx.config, ctx.auth, f.src, f.dest, o));
  if (!f.quiet)
    fmt::print(stderr, "{} blobs uploaded, {} mounted, {} already there\n", r.blobs_uploaded,
               r.blobs_mounted, r.blobs_present);
  fmt::print("{}\n", r.manifest.str());
  return 0;
}

Result<int> do_login(const BerthGlobals& g, LoginFlags f) {
  if (!dynlib::loadable()) return fail(dynlib::exec_dynamic(g.argv));
  auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
  if (f.password_stdin) {
    std::getline(std::cin, f.password);
  } else if (f.password.empty()) {
    const char* p = isatty(0) ? getpass("Password: ") : nullptr;
    if (!p) return fail(invalid("login: give --password or --password-stdin"));
    f.password = p;
  }
  if (f.user.empty()) return fail(invalid("login: --username is required"));
  image::Reference probe = BERTH_TRY(image::parse_repository(f.registry + "/berth/login-check"));
  registry::Client client(ctx.config, registry::Credential{f.user, f.password}, probe, false);
  BERTH_CHECK_CTX(client.ping(), "login to {}", f.registry);
  BERTH_CHECK(ctx.auth.set(probe.registry, {f.user, f.password}));
  fmt::print("Login Succeeded\n");
  return 0;
}

void add(CLI::App& app, BerthGlobals& g) {
  auto pf = std::make_shared<PullFlags>();
  auto* pull = app.add_subcommand("pull", "download an image from a registry");
  pull->add_option("image", pf->ref,
                   "image reference (busybox, host:5000/app:tag, name@sha256:...)")
      ->required();
  pull->add_option("--platform", pf->platform,
                   "os/arch[/variant] to pick from a multi-platform "
                   "image (default: this host's)");
  pull->add_flag("-q,--quiet", pf->quiet, "print nothing but errors");
  pull->add_option("--limit-rate", pf->limit_rate,
                   "limit each layer download to this many "
                   "bytes per second");
  pull->add_option("--max-parallel", pf->parallel, "layers fetched at once (default 4)");
  on_berth_run(pull, [&g, pf] { return do_pull(g, *pf); });

  auto sf = std::make_shared<PushFlags>();
  auto* push = app.add_subcommand("push", "upload an image to a registry");
  push->add_option("image", sf->src, "image to push")->required();
  push->add_option("destination", sf->dest, "reference to push to (default: the image's name)");
  push->add_flag("-q,--quiet", sf->quiet, "print only the pushed digest");
  push->add_option("--chunk-size", sf->chunk,
                   "upload blobs in PATCH chunks of this many bytes "
                   "(default: one PUT per blob)");
  on_berth_run(push, [&g, sf] { return do_push(g, *sf); });

  auto lf = std::make_shared<LoginFlags>();
  auto* login = app.add_subcommand("login", "store credentials for a registry (mode 0600 file)");
  login->add_option("registry", lf->registry, "registry host[:port]")->required();
  login->add_option("-u,--username", lf->user, "user name");
  login->add_option("-p,--password", lf->password, "password (prefer --password-stdin)");
  login->add_flag("--password-stdin", lf->password_stdin, "read the password from standard input");
  on_berth_run(login, [&g, lf] { return do_login(g, *lf); });

  auto lo = std::make_shared<std::string>();
  auto* logout = app.add_subcommand("logout", "forget the credentials for a registry");
  logout->add_option("registry", *lo, "registry host[:port]")->required();
  on_berth_run(logout, [&g, lo]() -> Result<int> {
    auto ctx = BERTH_TRY(registry::open_context(g.root, g.config));
    image::Reference r = BERTH_TRY(image::parse_repository(*lo + "/berth/logout"));
    bool removed = BERTH_TRY(ctx.auth.remove(r.registry));
    fmt::print("{}\n", removed ? "Removed login credentials for " + r.registry
                               : "Not logged in to " + r.registry);
    return 0;
  });
}

const BerthVerbs kVerbs("image", {"pull", "push", "login", "logout"}, add);

}  // namespace
}  // namespace berth::cli
