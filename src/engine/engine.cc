#include "engine/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "base/thread.h"
#include "base/trace.h"
#include "engine/spec_builder.h"
#include "image/fs_util.h"
#include "image/image_config.h"
#include "image/store.h"
#include "net/network.h"
#include "net/ports.h"
#include "net/vm_link.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/proc_info.h"
#include "sys/in_root.h"
#include "vm/vm_handler.h"

namespace berth::engine {

std::string random_id() {
  unsigned char b[32];
  if (getentropy(b, sizeof b) != 0) {
    std::random_device rd;
    for (auto& c : b) c = static_cast<unsigned char>(rd());
  }
  std::string s;
  for (unsigned char c : b) s += fmt::format("{:02x}", c);
  return s;
}

std::string random_name() {
  static const char* kAdj[] = {"brave", "calm",  "eager", "fancy", "gentle", "happy",
                               "jolly", "keen",  "lucid", "merry", "nimble", "proud",
                               "quiet", "swift", "tidy",  "vivid", "wise",   "zesty"};
  static const char* kNoun[] = {"anchor", "buoy", "dock",  "ferry", "harbor", "jetty",
                                "keel",   "mast", "oar",   "pier",  "quay",   "reef",
                                "sail",   "tide", "wharf", "helm",  "hull",   "lock"};
  unsigned char r[4];
  (void)getentropy(r, sizeof r);
  return fmt::format("{}_{}_{}", kAdj[r[0] % std::size(kAdj)], kNoun[r[1] % std::size(kNoun)],
                     (r[2] << 8 | r[3]) % 10000);
}

namespace {

int64_t now_s() { return time(nullptr); }

Result<void> validate_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return fail(invalid("container name {:?} is not valid", n));
  if (!isalnum(static_cast<unsigned char>(n[0])))
    return fail(invalid("container name {:?} must start with a letter or digit", n));
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return fail(invalid("container name {:?}: only letters, digits, _ . - are allowed", n));
  return {};
}

bool is_mountpoint(const std::string& p) {
  struct stat a {
  }, b{};
  if (::stat(p.c_str(), &a) != 0 || ::stat(path::dirname(p).c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev;
}

// The handler that owns the container: the VM handler for --isolation=vm, else namespaces.
std::unique_ptr<runtime::Handler> handler(const Paths& p, std::string_view id) {
  return vm::handler_for(runtime::Store(p.runtime()), id);
}

std::string host_file(const char* p, const char* fallback) {
  auto r = file::read(p);
  return r ? *r : fallback;
}

// The monitor binary sits next to berth.
std::string monitor_binary() {
  if (const char* e = getenv("BERTH_MONITOR")) return e;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? path::dirname(std::string(self, static_cast<size_t>(n))) : ".";
  return path::join(dir, "berth-monitor");
}

std::string self_binary() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : "berth";
}

}  // namespace

Engine::Engine(Paths paths, Records records)
    : paths_(std::move(paths)), records_(std::move(records)), volumes_(paths_.volumes()) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::open(const Paths& paths) {
  BERTH_CHECK(file::mkdir_all(paths.containers(), 0700));
  BERTH_CHECK(file::mkdir_all(paths.state, 0700));
  // The image store and the records share berth.db and one connection to it (the schema is
  // parsed once per command).
  std::unique_ptr<image::Store> store = BERTH_TRY(image::Store::open(paths.root));
  Records r = BERTH_TRY(Records::on(store->db()));
  std::unique_ptr<Engine> e(new Engine(paths, std::move(r)));
  e->images_ = std::move(store);
  return e;
}

Result<image::Store*> Engine::images() {
  if (!images_) images_ = BERTH_TRY(image::Store::open(paths_.root));
  return images_.get();
}

Result<net::Manager*> Engine::networks() {
  if (!networks_) {
    net::Config cfg = net::Config::for_root(paths_.root);
    cfg.dir = paths_.networks();
    networks_ = std::make_unique<net::Manager>(cfg);
  }
  return networks_.get();
}

Result<void> Engine::ensure_rootfs(const Container& c) {
  image::Store* st = BERTH_TRY(images());
  auto cfg = file::read(path::join(paths_.container(c.record.id), "config.json"));
  if (!cfg) return fail(std::move(cfg.error()));
  auto spec = oci::parse_spec(*cfg);
  if (!spec) return fail(std::move(spec.error()));
  if (is_mountpoint(spec->root.path)) return {};
  // After a reboot the overlay mount is gone: mount the snapshot again.
  image::ImageRecord img = BERTH_TRY(st->resolve(c.record.image_id));
  BERTH_CHECK(st->remount_snapshot(img, c.record.id, {.container_files = true}));
  return {};
}

Result<Container> Engine::create(RunOptions opts, std::vector<std::string>* warnings) {
  image::Store* st = BERTH_TRY(images());
  image::ImageRecord img = BERTH_TRY(st->resolve(opts.image));
  image::ImageConfig icfg = BERTH_TRY(st->config(img));
  trace::mark("create: image resolved");
  image::RunDefaults defaults = image::run_defaults(icfg, opts.cmd, opts.entrypoint);
  if (opts.stop_signal.empty()) opts.stop_signal = defaults.stop_signal;
  opts.exposed_ports = defaults.exposed_ports;
  for (const auto& [k, v] : defaults.labels)
    if (!opts.labels.count(k)) opts.labels[k] = v;

  Container c;
  ContainerRecord& r = c.record;
  r.id = random_id();
  r.name = opts.name.empty() ? random_name() : opts.name;
  BERTH_CHECK(validate_name(r.name));
  r.image = opts.image;
  r.image_id = img.id();
  r.command = join(defaults.args, " ");
  r.created = now_s();
  r.state = "created";
  // Anonymous volumes (-v /path, or an image VOLUME) get their names now, so the record
  // says which volumes belong to the container.
  for (const auto& vpath : defaults.volumes) {
    bool mounted = std::any_of(opts.mounts.begin(), opts.mounts.end(), [&](const MountOption& m) {
      return path::clean(m.target) == path::clean(vpath);
    });
    if (!mounted) opts.mounts.push_back({"volume", "", vpath, false, {}});
  }
  for (auto& m : opts.mounts)
    if (m.type == "volume" && m.source.empty()) {
      m.source = random_id();
      m.options.push_back("anonymous");
    }
  r.options_json = to_json(opts).dump();
  BERTH_CHECK(records_.insert(r));
  trace::mark("create: record inserted");
  std::string dir = paths_.container(r.id);
  bool ok = false;
  Defer undo([&] {
    if (ok) return;
    (void)st->remove_snapshot(r.id);
    (void)file::remove_all(dir);
    (void)records_.remove(r.id);
  });
  // A spare bundle directory (image/fs_util.h) if there is one: no directory made per run.
  if (UniqueFd cs(::open(paths_.containers().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      !cs || !image::take_spare_dir(cs.get(), r.id))
    BERTH_CHECK(file::mkdir_all(dir, 0700));
  image::Snapshot snap =
      BERTH_TRY(st->prepare_snapshot(img, r.id, {.throwaway = opts.rm, .container_files = true}));
  trace::mark("create: snapshot");

  SpecInputs in;
  in.id = r.id;
  in.opts = opts;
  in.image = defaults;
  in.rootfs = snap.rootfs;
  in.etc_dir = paths_.etc(r.id);
  {
    UniqueFd rootfd(::open(snap.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd) return fail(sys_error(errno, "open rootfs {}", snap.rootfs));
    std::string user = opts.user.empty() ? defaults.user : opts.user;
    in.user = BERTH_TRY(image::resolve_user(rootfd.get(), user));
  }
  for (const auto& m : opts.mounts) {
    ResolvedMount rm;
    rm.target = m.target;
    rm.readonly = m.readonly;
    for (const auto& o : m.options)
      if (o != "anonymous") rm.options.push_back(o);
    if (m.type == "tmpfs") {
      rm.type = "tmpfs";
    } else if (m.type == "bind") {
      rm.type = "bind";
      rm.source = m.source;
      struct stat sst {};
      if (::stat(m.source.c_str(), &sst) != 0) {
        // -v creates a missing host directory, as Docker does.
        BERTH_CHECK_CTX(file::mkdir_all(m.source), "-v {}", m.source);
      }
    } else {
      bool made = false;
      bool anonymous =
          std::find(m.options.begin(), m.options.end(), "anonymous") != m.options.end();
      Volume v = BERTH_TRY(volumes_.ensure(m.source, anonymous, &made));
      if (made) BERTH_CHECK_CTX(volumes_.populate(v, snap.rootfs, m.target), "volume {}", v.name);
      rm.type = "bind";
      rm.source = v.mountpoint;
    }
    in.mounts.push_back(rm);
  }
  for (const auto& d : opts.devices) {
    std::string perms;
    in.devices.push_back(BERTH_TRY(lookup_device(d, &perms)));
  }
  if (opts.init) {
    in.init_binary = path::join(path::dirname(monitor_binary()), "berth-init");
    if (!file::exists(in.init_binary))
      return fail(make_error(ErrorKind::kUnavailable, "--init: {} is missing", in.init_binary));
  }
  const std::string& n = opts.network;
  if (n == "none") {
    in.netns = "";
  } else if (n == "host") {
    in.netns = "host";
  } else if (n.rfind("container:", 0) == 0) {
    Container other = BERTH_TRY(get(n.substr(10)));
    if (other.status.state != "running")
      return fail(make_error(ErrorKind::kFailedPrecondition,
                             "--network {}: that container is not running", n));
    in.netns = fmt::format("/proc/{}/ns/net", other.status.pid);
  } else {
    in.netns = paths_.netns(r.id);
  }
  in.seccomp = default_seccomp_profile();
  in.host_hard_limit = [](int res) -> uint64_t {
    rlimit rl{};
    getrlimit(static_cast<__rlimit_resource>(res), &rl);
    return rl.rlim_max;
  };
  BuiltSpec built = BERTH_TRY(build_spec(in));
  trace::mark("create: spec built");
  if (warnings) *warnings = built.warnings;
  std::string text = built.config.dump();
  BERTH_CHECK(file::write_atomic(path::join(dir, "config.json"), text, 0600, false));
  bundle_spec_ = BundleSpec{r.id, std::move(text), BERTH_TRY(oci::spec_from_json(built.config))};
  trace::mark("create: spec saved");
  // hosts, resolv.conf and hostname (bound into the container by the spec) are written by
  // setup_network at every start, before the runtime sees the spec.
  c.options = std::move(opts);
  c.status.state = "created";
  ok = true;
  return c;
}

Result<const Engine::BundleSpec*> Engine::bundle_spec(const std::string& id) {
  if (!bundle_spec_ || bundle_spec_->id != id) {
    std::string text = BERTH_TRY(file::read(path::join(paths_.container(id), "config.json")));
    oci::Spec spec = BERTH_TRY(oci::parse_spec(text));
    bundle_spec_ = BundleSpec{id, std::move(text), std::move(spec)};
  }
  return &*bundle_spec_;
}

Result<void> Engine::setup_network(const Container& c) {
  const RunOptions& o = c.options;
  std::string bundle = paths_.container(c.record.id);
  const BundleSpec* bs = BERTH_TRY(bundle_spec(c.record.id));
  const std::string& cfg = bs->text;
  const oci::Spec& spec = bs->spec;
  // The etc files are made afresh at every start, so they live with the runtime state.
  std::string dir = paths_.etc(c.record.id);
  BERTH_CHECK(file::mkdir_all(dir, 0700));
  std::string hostname = spec.hostname.empty() ? c.record.id.substr(0, 12) : spec.hostname;
  if (o.network == "none" || o.network.rfind("container:", 0) == 0) {
    BERTH_CHECK(file::write_atomic(
        path::join(dir, "hosts"),
        fmt::format("127.0.0.1\tlocalhost {}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                    hostname),
        0644, false));
    BERTH_CHECK(file::write_atomic(path::join(dir, "resolv.conf"),
                                   o.network == "none" ? "" : host_file("/etc/resolv.conf", ""),
                                   0644, false));
    return file::write_atomic(path::join(dir, "hostname"), hostname + "\n", 0644, false);
  }
  if (o.network == "host") {
    if (vm::wants_vm(spec))
      return fail(invalid(
          "--network host: a VM has a kernel of its own and cannot share the host's network; "
          "use a bridge network or none"));
    BERTH_CHECK(file::write_atomic(path::join(dir, "hosts"),
                                   host_file("/etc/hosts", "127.0.0.1\tlocalhost\n"), 0644, false));
    BERTH_CHECK(file::write_atomic(path::join(dir, "resolv.conf"),
                                   host_file("/etc/resolv.conf", ""), 0644, false));
    return file::write_atomic(path::join(dir, "hostname"),
                              host_file("/etc/hostname", "localhost\n"), 0644, false);
  }
  net::Manager* nets = BERTH_TRY(networks());
  BERTH_CHECK(file::mkdir_all(paths_.netns_dir(), 0700));
  std::string ns = paths_.netns(c.record.id);
  teardown_network(c.record.id);
  BERTH_CHECK(net::create_netns(ns));
  net::AttachRequest req;
  req.container_id = c.record.id;
  req.container_name = c.record.name;
  req.hostname = hostname;
  req.aliases = o.network_aliases;
  req.netns_path = ns;
  req.network = o.network == "bridge" ? "" : o.network;
  for (const auto& p : o.publish) req.ports.push_back(BERTH_TRY(net::parse_port_spec(p)));
  if (o.publish_all) {
    auto all = BERTH_TRY(net::publish_all_specs(o.exposed_ports));
    req.ports.insert(req.ports.end(), all.begin(), all.end());
  }
  auto att = nets->attach(req);
  if (!att) {
    (void)net::remove_netns(ns);
    return fail(std::move(att.error()));
  }
  if (vm::wants_vm(spec)) {
    // The guest takes the container's address: a tap bridged to eth0 (net/vm_link.h), and
    // the VM handler told through the spec's annotations.
    auto link = net::plumb_vm_link(ns, *att);
    if (!link) {
      teardown_network(c.record.id);
      return fail(std::move(link.error()));
    }
    nlohmann::json j = nlohmann::json::parse(cfg, nullptr, false);
    auto& an = j["annotations"];
    an["run.oci.berth.vm.net"] = "tap";
    an["run.oci.berth.vm.tap"] = link->tap;
    an["run.oci.berth.vm.address"] = fmt::format("{}/{}", link->ip.str(), link->prefix);
    an["run.oci.berth.vm.gateway"] = link->gateway.v ? link->gateway.str() : "";
    BERTH_CHECK(file::write_atomic(path::join(bundle, "config.json"), j.dump(2), 0644, false));
    bundle_spec_.reset();  // cfg and spec refer to it: not used from here on
  }
  net::EtcFiles etc = BERTH_TRY(nets->etc_files(c.record.id));
  BERTH_CHECK(file::write_atomic(path::join(dir, "hosts"), etc.hosts, 0644, false));
  BERTH_CHECK(file::write_atomic(path::join(dir, "resolv.conf"), etc.resolv_conf, 0644, false));
  return file::write_atomic(path::join(dir, "hostname"), etc.hostname, 0644, false);
}

// Whether another container that may still run joined this one's network namespace
// (--network container:X): it keeps the namespace, and the veth with it, alive.
bool Engine::netns_shared(const std::string& id) {
  auto all = records_.list();
  if (!all) return true;  // not known: take the safe path
  std::string name;
  for (const auto& r : *all)
    if (r.id == id) name = r.name;
  for (const auto& r : *all) {
    if (r.id == id || r.state == "exited" || r.state == "dead") continue;
    if (r.options_json.find("\"container:") == std::string::npos) continue;  // the common case
    auto j = nlohmann::json::parse(r.options_json, nullptr, false);
    std::string n = j.is_object() ? j.value("network", "") : "";
    if (n.rfind("container:", 0) != 0) continue;
    std::string ref = n.substr(10);
    if (!ref.empty() && (ref == name || id.rfind(ref, 0) == 0)) return true;
  }
  return false;
}

void Engine::teardown_network(const std::string& id) {
  std::string ns = paths_.netns(id);
  // The container is gone: its namespace goes next, and the kernel deletes the veths with it
  // (unless another container shares the namespace: then they are deleted now, as Docker
  // does, and that container loses the network).
  if (auto nets = networks(); nets)
    (void)(*nets)->detach_all(id, /*namespace_going=*/[&] { return !netns_shared(id); });
  (void)net::remove_netns(ns);
}

Result<MonitorConfig> Engine::monitor_config(const Container& c, bool rm_on_exit) {
  MonitorConfig m;
  m.id = c.record.id;
  m.bundle = paths_.container(c.record.id);
  m.runtime_root = paths_.runtime();
  m.monitor_dir = paths_.monitor(c.record.id);
  m.log_path = paths_.log_file(c.record.id);
  m.log_max_size = c.options.log_max_size;
  m.log_max_file = c.options.log_max_file;
  m.restart = c.options.restart;
  m.health = c.options.health;
  m.interactive = c.options.interactive;
  m.tty = c.options.tty;
  if (rm_on_exit)
    m.on_exit = {self_binary(), "--root", paths_.root, "--state",  paths_.state,
                 "rm",          "-f",     "-v",        c.record.id};
  BERTH_CHECK(file::mkdir_all(m.monitor_dir, 0700));
  (void)::unlink(path::join(m.monitor_dir, "stop").c_str());
  BERTH_CHECK(file::write_atomic(path::join(m.monitor_dir, "monitor.json"), monitor_config_json(m),
                                 0600, false));
  return m;
}

Result<void> Engine::start(std::string_view ref) {
  Container c = BERTH_TRY(get(ref));
  if (c.status.state == "running" || c.status.state == "paused" || c.status.state == "restarting")
    return {};
  BERTH_CHECK(ensure_rootfs(c));
  BERTH_CHECK(setup_network(c));
  MonitorConfig mc = BERTH_TRY(monitor_config(c, c.options.rm));
  (void)::unlink(path::join(mc.monitor_dir, "status.json").c_str());
  c.record.stopped_by_user = false;
  c.record.state = "running";
  BERTH_CHECK(records_.update_life(c.record));
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return fail(sys_error(errno, "pipe"));
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  std::string bin = monitor_binary();
  std::string cfg_path = path::join(mc.monitor_dir, "monitor.json");
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error(errno, "fork"));
  if (pid == 0) {
    // Double fork: the monitor is nobody's child and has its own session.
    ::setsid();
    if (::fork() != 0) _exit(0);
    int fd = ::fcntl(ready_w.get(), F_DUPFD, 3);  // survives exec
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::chdir("/");
    std::string fds = std::to_string(fd);
    ::execl(bin.c_str(), bin.c_str(), cfg_path.c_str(), fds.c_str(), nullptr);
    _exit(127);
  }
  ready_w.reset();
  ::waitpid(pid, nullptr, 0);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(ready_r.get(), buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  if (msg.rfind("ok", 0) == 0) return {};
  c.record.state = "exited";
  (void)records_.update_life(c.record);
  if (msg.empty())
    return fail(make_error(ErrorKind::kInternal,
                           "the monitor ({}) exited before the container started", bin));
  // "error <kind> <text>"
  ErrorKind kind = ErrorKind::kInternal;
  if (msg.rfind("error 127 ", 0) == 0) kind = ErrorKind::kNotFound;
  if (msg.rfind("error 126 ", 0) == 0) kind = ErrorKind::kPermissionDenied;
  std::string text = msg.size() > 10 ? msg.substr(10) : msg;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return fail(Error(kind, text));
}

Result<int> Engine::run_attached(const Container& c, bool fresh) {
  BERTH_CHECK(setup_network(c));
  trace::mark("run: network and etc files");
  MonitorConfig mc = BERTH_TRY(monitor_config(c, false));
  trace::mark("run: monitor config");
  ContainerRecord rec = c.record;
  rec.state = "running";
  rec.started_at = now_s();
  BERTH_CHECK(records_.update_life(rec));
  MonitorIo io;
  io.relay = true;
  const BundleSpec* bs = BERTH_TRY(bundle_spec(c.record.id));
  io.config_text = &bs->text;
  io.spec = &bs->spec;
  io.fresh = fresh;
  // While the container runs, a thread deletes what earlier removals left in the snapshot
  // trash (image/snapshot.cc): ext4's synchronous discards of those blocks then overlap
  // the container's run instead of adding ~1 ms after it.
  HeapStackThread trash;
  image::Store* store = images_.get();
  if (store != nullptr)
    io.started = [&](const Result<void>&) { (void)trash.start([store] { store->empty_trash(); }); };
  auto code = run_monitor(mc, io);
  trash.join();
  trace::mark("run: monitor done");
  if (c.options.rm) {
    // The monitor removed the container from the runtime when it ended.
    (void)discard(c, /*runtime_gone=*/true, /*volumes=*/true);
    trace::mark("run: removed");
  } else {
    rec.state = "exited";
    rec.exit_code = code ? *code : exit_code_for(code.error());
    rec.finished_at = now_s();
    (void)records_.update_life(rec);
  }
  return code;
}

LiveStatus Engine::live_status(const ContainerRecord& r) {
  LiveStatus s;
  s.state = r.state;
  s.exit_code = r.exit_code;
  s.restart_count = r.restart_count;
  std::string mdir = paths_.monitor(r.id);
  auto ms = read_monitor_status(mdir);
  if (!ms) {
    // Never started (or the host rebooted and /run is empty).
    s.state = r.state == "created" ? "created" : "exited";
    return s;
  }
  s.exit_code = ms->exit_code;
  s.started_at = ms->started_at;
  s.finished_at = ms->finished_at;
  s.restart_count = ms->restart_count;
  s.health = ms->health;
  s.error = ms->error;
  s.monitor_alive = ms->monitor_pid > 0 && ::kill(ms->monitor_pid, 0) == 0 &&
                    runtime::process_alive(ms->monitor_pid, 0);
  bool alive = ms->pid > 0 && runtime::process_alive(ms->pid, ms->pid_start_time);
  if (ms->state == "running" && alive) {
    s.state = "running";
    s.pid = ms->pid;
    auto h = handler(paths_, r.id);
    if (auto rs = h->state(r.id); rs && rs->status == oci::Status::kPaused) s.state = "paused";
  } else if (ms->state == "restarting" && s.monitor_alive) {
    s.state = "restarting";
  } else if (ms->state == "running" && s.monitor_alive) {
    s.state = "running";  // the monitor is recording the exit right now
  } else if (ms->state == "running") {
    // The monitor died and so did the container: nobody saw how it ended.
    s.state = "exited";
    s.exit_code = 255;
    if (s.finished_at == 0) s.finished_at = s.started_at;
  } else {
    s.state = "exited";
  }
  return s;
}

Result<Container> Engine::get(std::string_view ref) {
  Container c;
  c.record = BERTH_TRY(records_.find(ref));
  c.options = BERTH_TRY(run_options_from_json(c.record.options_json));
  c.status = live_status(c.record);
  return c;
}

Result<std::vector<Container>> Engine::list() {
  std::vector<Container> out;
  for (auto& r : BERTH_TRY(records_.list())) {
    Container c;
    c.record = r;
    auto o = run_options_from_json(r.options_json);
    if (o) c.options = std::move(*o);
    c.status = live_status(r);
    // Repair the record from what is true now (a dead monitor, a reboot).
    if (c.status.state != r.state && (c.status.state == "exited" || c.status.state == "running")) {
      ContainerRecord fixed = r;
      fixed.state = c.status.state;
      fixed.exit_code = c.status.exit_code;
      (void)records_.update_life(fixed);
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<void> Engine::kill(std::string_view ref, int signal) {
  Container c = BERTH_TRY(get(ref));
  if (c.status.state != "running" && c.status.state != "paused")
    return fail(
        make_error(ErrorKind::kFailedPrecondition, "container {} is not running", c.record.name));
  auto h = handler(paths_, c.record.id);
  return h->kill(c.record.id, signal, false);
}

Result<int> Engine::wait(std::string_view ref) {
  Container c = BERTH_TRY(get(ref));
  while (c.status.state == "running" || c.status.state == "paused" ||
         c.status.state == "restarting") {
    usleep(50 * 1000);
    c.status = live_status(c.record);
  }
  return c.status.exit_code;
}

Result<void> Engine::stop(std::string_view ref, std::optional<int> timeout) {
  Container c = BERTH_TRY(get(ref));
  std::string mdir = paths_.monitor(c.record.id);
  if (file::exists(mdir))
    BERTH_CHECK(file::write_atomic(path::join(mdir, "stop"), "", 0644, false));
  c.record.stopped_by_user = true;
  BERTH_CHECK(records_.update_life(c.record));
  if (c.status.state != "running" && c.status.state != "paused") return {};
  auto h = handler(paths_, c.record.id);
  int sig = SIGTERM;
  if (!c.options.stop_signal.empty()) {
    std::string s = c.options.stop_signal;
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    for (int i = 1; i < 32; ++i)
      if (sigabbrev_np(i) && s == sigabbrev_np(i)) sig = i;
    if (auto n = parse_int(c.options.stop_signal)) sig = static_cast<int>(*n);
  }
  int t = timeout.value_or(c.options.stop_timeout.value_or(10));
  if (c.status.state == "paused") (void)h->resume(c.record.id);
  (void)h->kill(c.record.id, sig, false);
  for (int waited = 0; waited < t * 1000; waited += 20) {
    if (live_status(c.record).state != "running") break;
    usleep(20 * 1000);
  }
  if (live_status(c.record).state == "running") {
    (void)h->kill(c.record.id, SIGKILL, true);
    for (int i = 0; i < 500 && live_status(c.record).state == "running"; ++i) usleep(10 * 1000);
  }
  // The monitor records the exit and removes the runtime container; wait for it briefly.
  for (int i = 0; i < 200; ++i) {
    auto ms = read_monitor_status(mdir);
    if (!ms || ms->state == "exited") break;
    usleep(10 * 1000);
  }
  return {};
}

Result<void> Engine::remove(std::string_view ref, bool force, bool remove_volumes) {
  Container c = BERTH_TRY(get(ref));
  const std::string& id = c.record.id;
  if (c.status.state == "running" || c.status.state == "paused" || c.status.state == "restarting") {
    if (!force)
      return fail(make_error(ErrorKind::kFailedPrecondition,
                             "container {} is {}: stop it first or use rm -f", c.record.name,
                             c.status.state));
    std::string mdir = paths_.monitor(id);
    (void)file::write_atomic(path::join(mdir, "stop"), "", 0644, false);
    auto h = handler(paths_, id);
    (void)h->kill(id, SIGKILL, true);
    for (int i = 0; i < 300; ++i) {
      auto ms = read_monitor_status(mdir);
      bool monitor_alive = ms && ms->monitor_pid > 0 && runtime::process_alive(ms->monitor_pid, 0);
      if (!ms || ms->state == "exited" || !monitor_alive) break;
      usleep(10 * 1000);
    }
  }
  auto removed = discard(c, false, remove_volumes);
  // Not left for a later `run` (Store::empty_trash): `rm` returns with the store tidy.
  if (images_) images_->empty_trash();
  return removed;
}

Result<void> Engine::discard(const Container& c, bool runtime_gone, bool remove_volumes) {
  const std::string& id = c.record.id;
  // Whatever is left in the runtime (a dead monitor's container) goes now. A caller that
  // removed it already is believed when the runtime's state dir is indeed gone.
  if (!runtime_gone || file::exists(path::join(paths_.runtime(), id)))
    BERTH_CHECK_CTX(handler(paths_, id)->remove(id, true), "remove container {}", c.record.name);
  teardown_network(id);
  trace::mark("rm: runtime removed, network");
  if (auto st = images(); st) BERTH_CHECK((*st)->remove_snapshot(id));
  trace::mark("rm: snapshot removed");
  BERTH_CHECK(file::remove_all(paths_.monitor(id)));
  trace::mark("rm: monitor dir");
  // The bundle (config.json, logs) is emptied and kept as a spare for the next container.
  auto empty = [](int fd) -> Result<void> {
    BERTH_CHECK(image::remove_children(fd));
    if (::fchmod(fd, 0700) != 0) return fail(sys_error(errno, "reset a bundle directory"));
    return {};
  };
  UniqueFd cs(::open(paths_.containers().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cs || !image::park_spare_dir(cs.get(), id, 8, empty))
    BERTH_CHECK(file::remove_all(paths_.container(id)));
  trace::mark("rm: bundle, record");
  BERTH_CHECK(records_.remove(id));
  if (remove_volumes) {
    for (const auto& m : c.options.mounts)
      if (m.type == "volume" &&
          std::find(m.options.begin(), m.options.end(), "anonymous") != m.options.end())
        (void)volumes_.remove(m.source);
  }
  return {};
}

Result<void> Engine::pause(std::string_view ref, bool p) {
  Container c = BERTH_TRY(get(ref));
  auto h = handler(paths_, c.record.id);
  if (p) {
    if (c.status.state != "running")
      return fail(make_error(ErrorKind::kFailedPrecondition, "container {} is {}, not running",
                             c.record.name, c.status.state));
    return h->pause(c.record.id);
  }
  if (c.status.state != "paused")
    return fail(
        make_error(ErrorKind::kFailedPrecondition, "container {} is not paused", c.record.name));
  return h->resume(c.record.id);
}

Result<std::vector<pid_t>> Engine::pids(std::string_view ref) {
  Container c = BERTH_TRY(get(ref));
  if (c.status.state != "running" && c.status.state != "paused")
    return fail(
        make_error(ErrorKind::kFailedPrecondition, "container {} is not running", c.record.name));
  auto h = handler(paths_, c.record.id);
  return h->pids(c.record.id);
}

Result<void> Engine::rename(std::string_view ref, std::string_view name) {
  BERTH_CHECK(validate_name(name));
  Container c = BERTH_TRY(get(ref));
  return records_.rename(c.record.id, name);
}

Result<int> Engine::exec(std::string_view ref, const ExecRequest& req) {
  Container c = BERTH_TRY(get(ref));
  if (c.status.state != "running")
    return fail(make_error(ErrorKind::kFailedPrecondition, "container {} is {}, not running",
                           c.record.name, c.status.state));
  std::string cfg = BERTH_TRY(file::read(path::join(paths_.container(c.record.id), "config.json")));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(cfg));
  runtime::ExecOptions eo;
  eo.process = *spec.process;
  eo.process.args = req.cmd;
  eo.process.terminal = req.tty;
  for (const auto& e : req.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(eo.process.env, [&](const std::string& x) { return x.rfind(key + "=", 0) == 0; });
    eo.process.env.push_back(e);
  }
  if (!req.workdir.empty()) eo.process.cwd = req.workdir;
  if (!req.user.empty()) {
    UniqueFd rootfd(::open(spec.root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    eo.process.user = BERTH_TRY(image::resolve_user(rootfd.get(), req.user));
  }
  auto h = handler(paths_, c.record.id);
  if (req.tty) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return fail(sys_error(errno, "socketpair"));
    UniqueFd mine(sv[0]), theirs(sv[1]);
    eo.console_fd = theirs.get();
    eo.detach = true;
    int pid = BERTH_TRY(h->exec(c.record.id, eo));
    theirs.reset();
    UniqueFd master = BERTH_TRY(runtime::recv_fd(mine.get()));
    if (req.detach) return 0;
    runtime::relay_console(master.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (req.detach) {
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    int saved[3];
    for (int i = 0; i < 3; ++i) saved[i] = ::fcntl(i, F_DUPFD_CLOEXEC, 3);
    for (int i = 0; i < 3; ++i) ::dup2(null.get(), i);
    eo.detach = true;
    auto r = h->exec(c.record.id, eo);
    for (int i = 0; i < 3; ++i) {
      ::dup2(saved[i], i);
      ::close(saved[i]);
    }
    if (!r) return fail(std::move(r.error()));
    return 0;
  }
  if (!req.interactive) {
    // Without -i the process gets no stdin, as with Docker.
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int saved = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    ::dup2(null.get(), 0);
    auto r = h->exec(c.record.id, eo);
    ::dup2(saved, 0);
    ::close(saved);
    return r;
  }
  return h->exec(c.record.id, eo);
}

Result<std::vector<std::string>> Engine::boot() {
  std::vector<std::string> started;
  for (auto& c : BERTH_TRY(list())) {
    const std::string& p = c.options.restart.name;
    bool want = p == "always" || (p == "unless-stopped" && !c.record.stopped_by_user);
    if (!want || c.status.state == "running") continue;
    if (auto r = start(c.record.id); r) {
      started.push_back(c.record.id);
    } else {
      log::warn("start {}: {}", c.record.name, r.error().text());
    }
  }
  return started;
}

}  // namespace berth::engine
