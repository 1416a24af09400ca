#!/usr/bin/env bash
# Fetches Debian's cloud kernel for berth's VM isolation and installs it into berth's own
# directory, never over the host's kernel:
#
#   $BERTH_VM_DIR/kernel/<version>/vmlinux       uncompressed ELF, booted through PVH
#   $BERTH_VM_DIR/kernel/<version>/modules/...   the guest's module tree (the .ko files berth needs)
#   $BERTH_VM_DIR/kernel/<version>/modules.dep   from depmod, paths relative to modules/
#
# BERTH_VM_DIR defaults to /var/lib/berth/vm. The VM handler takes the newest version it finds
# there (docs/vm.md gives the whole search order). Idempotent: a version already installed is
# left alone. Needs apt-get (download only), dpkg-deb, lz4 and depmod (kmod). Run as root.
set -euo pipefail

VM_DIR=${BERTH_VM_DIR:-/var/lib/berth/vm}
META=${BERTH_VM_KERNEL_PACKAGE:-linux-image-cloud-amd64}
# The modules the guest agent may load, with their dependencies (resolved by the handler from
# modules.dep). Other modules are not copied: the guest needs only these.
WANTED=(virtio_mmio virtio_blk virtio_console virtio_net virtiofs overlay ext4 crc32c_generic)

die() {
  echo "vm-kernel: $*" >&2
  exit 1
}
for tool in apt-get dpkg-deb lz4 depmod; do
  command -v "$tool" >/dev/null || die "$tool is missing (install: apt-get install kmod lz4)"
done

# The versioned package the meta package depends on (linux-image-6.1.0-NN-cloud-amd64).
pkg=$(apt-cache depends "$META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' |
  head -n1)
if [ -z "$pkg" ]; then
  apt-get update -q >/dev/null || true
  pkg=$(apt-cache depends "$META" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || die "cannot resolve the kernel package behind $META"
version=${pkg#linux-image-}
dest=$VM_DIR/kernel/$version
if [ -s "$dest/vmlinux" ] && [ -s "$dest/modules.dep" ]; then
  echo "vm-kernel: $version already in $dest"
  exit 0
fi

work=$(mktemp -d /tmp/berth-vm-kernel.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt's sandbox user writes the download here
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) || (cd "$work" && apt-get download "$pkg")
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x"

vmlinuz=$work/x/boot/vmlinuz-$version
[ -s "$vmlinuz" ] || die "no vmlinuz in $pkg"

# The bzImage header (Documentation/arch/x86/boot.rst): setup_sects at 0x1f1, and from boot
# protocol 2.08 payload_offset (0x248) and payload_length (0x24c), relative to the protected
# mode code that follows the (setup_sects + 1) sectors of real-mode setup.
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
setup_sects=$(u8 "$vmlinuz" $((0x1f1)))
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_offset=$(u32 "$vmlinuz" $((0x248)))
payload_length=$(u32 "$vmlinuz" $((0x24c)))
start=$(((setup_sects + 1) * 512 + payload_offset))
magic=$(od -An -tx1 -j "$start" -N4 "$vmlinuz" | tr -d ' ')
case $magic in
02214c18) ;; # lz4 legacy frame, as the kernel writes it
*) die "the kernel payload is not lz4 (magic $magic): use a kernel built with CONFIG_KERNEL_LZ4" ;;
esac
dd if="$vmlinuz" of="$work/payload.lz4" bs=64K iflag=skip_bytes,count_bytes skip="$start" \
  count="$payload_length" status=none
# The payload ends with the uncompressed size (4 bytes) that lz4 does not expect: ignore the
# complaint about trailing bytes, check the result instead.
lz4 -dc "$work/payload.lz4" >"$work/vmlinux" 2>/dev/null || true
[ "$(od -An -tx1 -N4 "$work/vmlinux" | tr -d ' ')" = 7f454c46 ] || die "extracted vmlinux is not ELF"

# depmod over a private base dir gives modules.dep for the whole tree; keep only the
# modules we want and what they need.
depmod -b "$work/x" "$version"
moddir=$work/x/lib/modules/$version
declare -A need=()
resolve() {
  local name=$1 line
  line=$(grep -E "(^|/)${name//_/[_-]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n1) || true
  [ -n "$line" ] || return 0 # built in
  local file=${line%%:*} deps=${line#*:}
  need[$file]=1
  for d in $deps; do need[$d]=1; done
}
for m in "${WANTED[@]}"; do resolve "$m"; done

stage=$work/stage
mkdir -p "$stage/modules"
: >"$stage/modules.dep"
while IFS= read -r line; do
  file=${line%%:*}
  [ -n "${need[$file]:-}" ] || continue
  mkdir -p "$stage/modules/$(dirname "$file")"
  cp "$moddir/$file" "$stage/modules/$file"
  echo "$line" >>"$stage/modules.dep"
done <"$moddir/modules.dep"
cp "$moddir/modules.builtin" "$stage/modules.builtin"
mv "$work/vmlinux" "$stage/vmlinux"
cp "$work/x/boot/config-$version" "$stage/config"

mkdir -p "$VM_DIR/kernel"
rm -rf "$dest.tmp"
mv "$stage" "$dest.tmp"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "vm-kernel: installed $version in $dest ($(wc -l <"$dest/modules.dep") modules)"
