// cgroup v2 device control: the OCI device rules compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
// program and attached to the container's cgroup (v2 has no devices.allow file).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "oci/spec.h"

namespace berth::cgroup {

// The program: the last matching rule decides (as v1's lists behave); no match denies.
std::vector<bpf_insn> build_device_program(const std::vector<oci::DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory rel below dirfd, replacing the
// programs berth attached before (update).
Result<void> attach_device_filter(int dirfd, const std::string& rel,
                                  const std::vector<oci::DeviceRule>& rules);

}  // namespace berth::cgroup
