// pause, resume, ps, update.
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/strings.h"
#include "cli/runtime/app.h"

namespace berth::cli {
namespace {

// A size like "512m", "1g", "1048576" (bytes); -1 means unlimited.
Result<int64_t> parse_size(const std::string& s, std::string_view flag) {
  if (s == "-1") return -1;
  size_t i = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i;
  auto n = parse_uint(std::string_view(s).substr(0, i));
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  int64_t mult = unit.empty() || unit == "b"   ? 1
                 : unit == "k" || unit == "kb" ? 1024
                 : unit == "m" || unit == "mb" ? 1024 * 1024
                 : unit == "g" || unit == "gb" ? 1024LL * 1024 * 1024
                                               : 0;
  if (!n || !mult) return fail(invalid("{} {:?}: expected a size like 512m or 1g", flag, s));
  return static_cast<int64_t>(*n) * mult;
}

struct UpdateFlags {
  std::string resources;
  std::string memory, memory_swap, memory_reservation, kernel_memory;
  std::optional<uint64_t> cpu_shares, cpu_period, blkio_weight;
  std::optional<int64_t> cpu_quota, pids_limit;
  std::string cpuset_cpus, cpuset_mems;
  std::string id;
};

Result<oci::Resources> build_resources(const UpdateFlags& f) {
  oci::Resources r;
  if (!f.resources.empty()) {
    std::string text = f.resources == "-" ? "" : BERTH_TRY(file::read(f.resources));
    if (f.resources == "-") {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(0, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    }
    r = BERTH_TRY(oci::parse_resources(text));
  }
  auto mem = [&]() -> oci::Memory& {
    if (!r.memory) r.memory = oci::Memory{};
    return *r.memory;
  };
  auto cpu = [&]() -> oci::Cpu& {
    if (!r.cpu) r.cpu = oci::Cpu{};
    return *r.cpu;
  };
  if (!f.memory.empty()) mem().limit = BERTH_TRY(parse_size(f.memory, "--memory"));
  if (!f.memory_swap.empty()) mem().swap = BERTH_TRY(parse_size(f.memory_swap, "--memory-swap"));
  if (!f.memory_reservation.empty())
    mem().reservation = BERTH_TRY(parse_size(f.memory_reservation, "--memory-reservation"));
  if (f.cpu_shares) cpu().shares = *f.cpu_shares;
  if (f.cpu_period) cpu().period = *f.cpu_period;
  if (f.cpu_quota) cpu().quota = *f.cpu_quota;
  if (!f.cpuset_cpus.empty()) cpu().cpus = f.cpuset_cpus;
  if (!f.cpuset_mems.empty()) cpu().mems = f.cpuset_mems;
  if (f.pids_limit) r.pids_limit = *f.pids_limit;
  if (f.blkio_weight) {
    r.block_io = oci::BlockIo{};
    r.block_io->weight = static_cast<uint16_t>(*f.blkio_weight);
  }
  return r;
}

void add_simple(CLI::App& app, RuntimeContext& ctx, const char* name, const char* help,
                Result<void> (runtime::Handler::*fn)(std::string_view)) {
  auto* sub = app.add_subcommand(name, help);
  auto id = std::make_shared<std::string>();
  sub->add_option("container-id", *id, "the container")->required();
  on_run(sub, [&ctx, id, fn]() -> Result<int> {
    auto h = BERTH_TRY(ctx.handler_for(*id));
    BERTH_CHECK(((*h).*fn)(*id));
    return 0;
  });
}

}  // namespace

void add_control_verbs(CLI::App& app, RuntimeContext& ctx) {
  add_simple(app, ctx, "pause", "freeze every process of a container (cgroup freezer)",
             &runtime::Handler::pause);
  add_simple(app, ctx, "resume", "thaw a paused container", &runtime::Handler::resume);
  {
    auto* sub = app.add_subcommand("ps", "list the processes of a container");
    auto id = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("table");
    sub->add_option("-f,--format", *format, "table or json (json: an array of pids)")
        ->check(CLI::IsMember({"table", "json"}));
    sub->add_option("container-id", *id, "the container")->required();
    on_run(sub, [&ctx, id, format]() -> Result<int> {
      auto h = BERTH_TRY(ctx.handler_for(*id));
      std::vector<pid_t> pids = BERTH_TRY(h->pids(*id));
      if (*format == "json") {
        fmt::print("{}\n", nlohmann::json(pids).dump());
        return 0;
      }
      fmt::print("{:>8} {}\n", "PID", "CMD");
      for (pid_t p : pids) {
        std::string cmd = file::read(fmt::format("/proc/{}/cmdline", p)).value_or("");
        for (auto& c : cmd)
          if (c == '\0') c = ' ';
        fmt::print("{:>8} {}\n", p, trim(cmd));
      }
      return 0;
    });
  }
  {
    auto* sub = app.add_subcommand("update", "change the resource limits of a container");
    auto f = std::make_shared<UpdateFlags>();
    sub->add_option("-r,--resources", f->resources,
                    "linux.resources JSON from this file (\"-\" reads stdin)");
    sub->add_option("--memory", f->memory, "memory limit (bytes, or 512m, 1g; -1 unlimited)");
    sub->add_option("--memory-swap", f->memory_swap, "memory plus swap limit");
    sub->add_option("--memory-reservation", f->memory_reservation, "memory soft limit");
    sub->add_option("--kernel-memory,--kernel-memory-tcp", f->kernel_memory,
                    "accepted for runc compatibility; ignored (deprecated by the kernel)");
    sub->add_option("--cpu-shares", f->cpu_shares, "CPU shares (relative weight)");
    sub->add_option("--cpu-period", f->cpu_period, "CFS period in microseconds");
    sub->add_option("--cpu-quota", f->cpu_quota, "CFS quota in microseconds per period");
    sub->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs to run on (0-3,7)");
    sub->add_option("--cpuset-mems", f->cpuset_mems, "memory nodes to use");
    sub->add_option("--pids-limit", f->pids_limit, "maximum number of processes");
    sub->add_option("--blkio-weight", f->blkio_weight, "block I/O weight (10-1000)");
    sub->add_option("container-id", f->id, "the container")->required();
    on_run(sub, [&ctx, f]() -> Result<int> {
      oci::Resources r = BERTH_TRY(build_resources(*f));
      auto h = BERTH_TRY(ctx.handler_for(f->id));
      BERTH_CHECK(h->update(f->id, r));
      return 0;
    });
  }
}

}  // namespace berth::cli
