#include "vm/host_probe.h"

#include <cpuid.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "base/path.h"
#include "base/strings.h"
#include "base/unique_fd.h"

namespace berth::vm {

std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* p = getenv("PATH");
  for (const auto& dir : split(p && *p ? p : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", ':')) {
    if (dir.empty()) continue;
    std::string cand = path::join(dir, name);
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return {};
}

Result<std::string> find_qemu() {
  const char* e = getenv("BERTH_QEMU");
  std::string q = which(e && *e ? e : "qemu-system-x86_64");
  if (q.empty())
    return fail(make_error(ErrorKind::kUnavailable,
                           "VM isolation needs QEMU: qemu-system-x86_64 not found (apt-get "
                           "install qemu-system-x86)"));
  return q;
}

Result<std::string> find_virtiofsd() {
  if (const char* e = getenv("BERTH_VIRTIOFSD"); e && *e) {
    if (::access(e, X_OK) == 0) return std::string(e);
  }
  for (const char* p : {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"})
    if (::access(p, X_OK) == 0) return std::string(p);
  std::string w = which("virtiofsd");
  if (!w.empty()) return w;
  return fail(make_error(ErrorKind::kUnavailable,
                         "volumes in a VM need virtiofsd, which was not found (apt-get install "
                         "qemu-system-common, or virtiofsd)"));
}

bool kvm_usable() {
  UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!fd) return false;
  return ::ioctl(fd.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

namespace {

uint64_t cpuid_tsc_khz() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 0x15) return 0;
  __cpuid(0x15, a, b, c, d);  // TSC/crystal ratio b/a, crystal Hz in c
  if (a == 0 || b == 0 || c == 0) return 0;
  return static_cast<uint64_t>(c) * b / a / 1000;
}

uint64_t measured_tsc_khz() {
  auto ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  };
  // Take the best of a few short windows (the one least disturbed by preemption).
  uint64_t best = 0;
  double best_err = 1e18;
  for (int i = 0; i < 3; ++i) {
    uint64_t t0 = ns();
    uint64_t c0 = __rdtsc();
    uint64_t t0b = ns();
    timespec sl{0, 7 * 1000 * 1000};
    nanosleep(&sl, nullptr);
    uint64_t t1 = ns();
    uint64_t c1 = __rdtsc();
    uint64_t t1b = ns();
    double err = static_cast<double>((t0b - t0) + (t1b - t1));
    double elapsed = static_cast<double>((t1 + t1b) / 2 - (t0 + t0b) / 2);
    if (elapsed <= 0) continue;
    if (err < best_err) {
      best_err = err;
      best = static_cast<uint64_t>(static_cast<double>(c1 - c0) * 1e6 / elapsed);
    }
  }
  return best;
}

}  // namespace

uint64_t host_tsc_khz() {
  if (uint64_t k = cpuid_tsc_khz()) return k;
  return measured_tsc_khz();
}

unsigned host_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

}  // namespace berth::vm
