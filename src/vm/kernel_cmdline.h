// The guest kernel's command line: a pure value built from what the host knows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::vm {

struct CmdlineOptions {
  // The host's TSC frequency. Under TCG the guest reads the host's TSC, and microvm has no
  // reliable timer to calibrate against: without tsc_early_khz boots hang at random.
  uint64_t tsc_khz = 0;
  std::vector<std::string> modules;  // loaded by the agent, in this order
  bool verbose = false;              // kernel messages on the serial console (diagnostics)
};

// "console=ttyS0 quiet panic=-1 cryptomgr.notests tsc_early_khz=... berth.modules=a,b".
std::string kernel_cmdline(const CmdlineOptions& o);

}  // namespace berth::vm
