#!/usr/bin/env bash
# VM isolation cost: `berth-runtime run` of /bin/true in a VM against the floor, a bare QEMU
# booting the same kernel (same machine, accelerator, memory and kernel arguments) with a
# minimal busybox initramfs whose /init powers off at once. Runs alternate (in random order
# within each pair), so load on the host hits both alike; prints the medians and their ratio,
# then the host RSS (and PSS) of the QEMU process of one VM.
#
#   bench/vm.sh [RUNS]          (default 10; needs root, QEMU and scripts/vm-kernel.sh)
#   BERTH_RUNTIME=path          berth-runtime to measure (default build/berth-runtime)
set -euo pipefail

RUNS=${1:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
RT=${BERTH_RUNTIME:-}
for cand in "$here/build/berth-runtime"; do
  [ -z "$RT" ] && [ -x "$cand" ] && RT=$cand
done
[ -x "$RT" ] || { echo "vm.sh: no berth-runtime built (set BERTH_RUNTIME)" >&2; exit 1; }
VM_DIR=${BERTH_VM_DIR:-/var/lib/berth/vm}
kdir=${BERTH_VM_KERNEL:-$(ls -d "$VM_DIR"/kernel/*/ 2>/dev/null | sort -V | tail -n1)}
kdir=${kdir%/}
[ -s "$kdir/vmlinux" ] || { echo "vm.sh: no VM kernel (run scripts/vm-kernel.sh)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm.sh: qemu-system-x86_64 missing" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-vm.XXXXXX)
# Runtime state on tmpfs, as in production (/run).
state=$(mktemp -d /run/berth-bench-vm.XXXXXX)
cleanup() {
  for id in $("$RT" --root "$state" list -q 2>/dev/null); do
    "$RT" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
  done
  rm -rf "$work" "$state"
}
trap cleanup EXIT

# The container: busybox-static, /bin/true, VM isolation; the default spec otherwise.
bundle=$work/bundle
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $("$bundle/rootfs/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$a"
done
(cd "$bundle" && "$RT" spec)
python3 - "$bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = True
c.setdefault("annotations", {})["run.oci.berth.isolation"] = "vm"
json.dump(c, open(p, "w"), indent=1)
EOF

# The floor: the same kernel, a busybox initramfs that powers off at once.
floor=$work/floor
mkdir -p "$floor/bin"
cp /bin/busybox "$floor/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$floor/init"
chmod +x "$floor/init"
(cd "$floor" && find . | cpio -o -H newc --quiet) >"$work/floor.cpio"
tsc_khz=$(cat "$VM_DIR"/cache/tsc-khz-"$(cat /proc/sys/kernel/random/boot_id)" 2>/dev/null || true)
accel=tcg cpu=max
if [ -w /dev/kvm ]; then accel=kvm cpu=host; fi

ms() { echo $(($(date +%s%N) / 1000000)); }
run_vm() {
  "$RT" --root "$state" run --bundle "$bundle" "b$1" >/dev/null
}
run_floor() {
  qemu-system-x86_64 -machine microvm,acpi=on -nodefaults -no-user-config -display none \
    -no-reboot -accel "$accel" -cpu "$cpu" -m 256M -smp 1 -kernel "$kdir/vmlinux" \
    -initrd "$work/floor.cpio" \
    -append "console=ttyS0 quiet panic=-1 cryptomgr.notests 8250.nr_uarts=1 tsc=reliable${tsc_khz:+ tsc_early_khz=$tsc_khz}" \
    >/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

# Warm up: the rootfs image and initramfs are built once and cached; the TSC is measured.
run_vm warm
tsc_khz=$(cat "$VM_DIR"/cache/tsc-khz-"$(cat /proc/sys/kernel/random/boot_id)" 2>/dev/null || true)
run_floor

: >"$work/t-vm" && : >"$work/t-floor"
# The order within each pair is random: this host's load comes in waves of a few seconds
# (measured: every other QEMU boot ~0.1 s slower when runs are ~1.5 s apart), and a fixed
# order would let the waves land on one side more than the other.
time_vm() { t=$(ms); run_vm "$1"; echo $(($(ms) - t)) >>"$work/t-vm"; }
time_floor() { t=$(ms); run_floor; echo $(($(ms) - t)) >>"$work/t-floor"; }
for i in $(seq 1 "$RUNS"); do
  if ((RANDOM % 2)); then time_vm "$i"; time_floor; else time_floor; time_vm "$i"; fi
done
vm=$(median <"$work/t-vm")
fl=$(median <"$work/t-floor")
echo "accel: $accel  kernel: $(basename "$kdir")  runs: $RUNS (alternating, random order in each pair)"
echo "berth-runtime run /bin/true (vm): median ${vm} ms   [$(tr '\n' ' ' <"$work/t-vm")]"
echo "floor (bare QEMU, poweroff):      median ${fl} ms   [$(tr '\n' ' ' <"$work/t-floor")]"
awk -v a="$vm" -v b="$fl" 'BEGIN {printf "ratio: %.2f x the floor\n", a / b}'

# Host memory of one VM's QEMU, once its guest runs a process.
python3 - "$bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["sleep", "30"]
json.dump(c, open(p, "w"), indent=1)
EOF
"$RT" --root "$state" run -d --bundle "$bundle" rss >/dev/null
sleep 1
qpid=$(pgrep -f -- "-name berth-rss" | head -n1)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$qpid/status")
pss=$(awk '/^Pss:/ {print $2}' "/proc/$qpid/smaps_rollup")
mem=$(python3 -c "import json;print(json.load(open('$state/rss/state.json'))['berth']['extra']['memory_mib'])" 2>/dev/null || echo '?')
echo "QEMU of one VM (${mem} MiB guest, running 'sleep'): RSS $((rss / 1024)) MiB, PSS $((pss / 1024)) MiB"
"$RT" --root "$state" delete --force rss
