#!/usr/bin/env python3
"""Writes berth's default seccomp profile (src/engine/data/seccomp_default.json).

The policy, in berth's own words: allow what ordinary programs use, deny by default
(EPERM), and keep away from containers the calls that reach past their namespaces: kernel
modules, kexec, reboot, clock and time setting, swap, quotas, keyrings, BPF, perf, ptrace-like
cross-process memory access, namespace creation and joining, mounting, and obsolete
interfaces. A capability the user adds (--cap-add) unlocks the calls that need it.

Usage: gen-seccomp-profile.py NAMES_FILE OUT_JSON   (NAMES_FILE: from seccomp_names.c)
"""
import json
import sys

DENIED = {
    # modules, kexec, reboot, swap, accounting
    "init_module", "finit_module", "delete_module", "create_module", "query_module",
    "get_kernel_syms", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
    # time
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    # keyrings, bpf, perf, fanotify
    "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "fanotify_init",
    # namespaces and mounts
    "mount", "umount", "umount2", "pivot_root", "setns", "unshare", "mount_setattr",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    # other processes' memory, handles, debugging of the kernel
    "process_vm_readv", "process_vm_writev", "kcmp", "name_to_handle_at",
    "open_by_handle_at", "lookup_dcookie", "userfaultfd", "ptrace",
    # NUMA placement of other processes, I/O ports, quotas, obsolete calls
    "move_pages", "mbind", "set_mempolicy", "get_mempolicy", "migrate_pages", "ioperm",
    "iopl", "quotactl", "quotactl_fd", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl",
    "vm86", "vm86old", "syslog", "vhangup", "pciconfig_iobase", "pciconfig_read",
    "pciconfig_write", "afs_syscall", "tuxcall", "security", "putpmsg", "getpmsg",
    # scheduling of realtime/other processes beyond nice
    "iopl",
    # handled with arguments below
    "clone", "clone3", "personality", "socket",
}

# Calls a capability unlocks (the name is the OCI capability).
BY_CAPABILITY = {
    "CAP_SYS_ADMIN": ["mount", "umount", "umount2", "pivot_root", "setns", "unshare",
                      "mount_setattr", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
                      "open_tree", "name_to_handle_at", "open_by_handle_at", "quotactl",
                      "quotactl_fd", "syslog", "bpf", "perf_event_open", "fanotify_init",
                      "lookup_dcookie", "setdomainname", "sethostname", "clone", "vhangup"],
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_MODULE": ["init_module", "finit_module", "delete_module"],
    "CAP_SYS_TIME": ["settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime"],
    "CAP_SYS_PTRACE": ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp"],
    "CAP_SYS_NICE": ["mbind", "set_mempolicy", "get_mempolicy", "move_pages", "migrate_pages"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
}

CLONE_NS_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET


def main():
    names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    allowed = sorted(n for n in set(names) if n not in DENIED)
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            # clone without namespace flags.
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NS_FLAGS, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            # clone3 passes its flags in memory, out of seccomp's reach: make libc fall back.
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        ],
        "berthCapabilities": BY_CAPABILITY,
    }
    # personality: the usual domains only (PER_LINUX, PER_LINUX32, UNAME26 and queries).
    for v in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF):
        profile["syscalls"].append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                    "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]})
    profile["syscalls"].append({"names": ["socket"], "action": "SCMP_ACT_ALLOW"})
    json.dump(profile, open(sys.argv[2], "w"), indent=1)
    open(sys.argv[2], "a").write("\n")


if __name__ == "__main__":
    main()
