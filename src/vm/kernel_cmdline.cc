#include "vm/kernel_cmdline.h"

#include <fmt/format.h>

#include "base/strings.h"

namespace berth::vm {

std::string kernel_cmdline(const CmdlineOptions& o) {
  std::vector<std::string> args = {
      "console=ttyS0",  // the serial port, written to console.log: diagnostics only
      o.verbose ? "loglevel=7" : "quiet",
      "panic=-1",           // reboot at once on a panic; QEMU runs with -no-reboot and exits
      "cryptomgr.notests",  // the crypto self tests cost ~0.3 s under TCG
      "8250.nr_uarts=1",
      // The guest's TSC is the host's (TCG reads it; KVM passes it): trust it, or the
      // clocksource watchdog may fall back to jiffies under a loaded host.
      "tsc=reliable",
  };
  if (o.tsc_khz > 0) args.push_back(fmt::format("tsc_early_khz={}", o.tsc_khz));
  if (!o.modules.empty()) args.push_back("berth.modules=" + join(o.modules, ","));
  return join(args, " ");
}

}  // namespace berth::vm
