# Sourced by the benches that run crun (directly, or as podman's runtime). crun 1.8 refuses
# this machine's hybrid cgroup layout (v1 controllers plus a cgroup2 mount holding hugetlb)
# unless hugetlb is mounted on v1: hugetlb_to_v1 moves it there for the comparison and
# hugetlb_back (call it from the script's EXIT trap) gives it back to cgroup2.
HUGETLB_MOUNTED=0

hugetlb_to_v1() {
  if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null &&
    ! mountpoint -q /sys/fs/cgroup/hugetlb; then
    # A controller enabled for children on cgroup2 cannot move to v1: disable it first (it
    # fails, and so does the comparison, while some cgroup2 group still uses hugetlb; berth
    # keeps its empty /berth parent, which enables it for its containers).
    local g
    for g in /sys/fs/cgroup/unified/berth /sys/fs/cgroup/unified; do
      [ -d "$g" ] && echo "-hugetlb" >"$g/cgroup.subtree_control" 2>/dev/null || true
    done
    mkdir -p /sys/fs/cgroup/hugetlb
    HUGETLB_MOUNTED=1
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  fi
}

hugetlb_back() {
  [ "$HUGETLB_MOUNTED" = 1 ] || return 0
  # The kernel frees a v1 hierarchy only when it is unmounted with no groups under its root,
  # and removed groups stay listed until their last reference goes. So: the engines' empty
  # parents (berth's /berth, podman's libpod_parent) go, deepest first; then unmount, and if
  # the hierarchy is still there, mount it again (now without groups) and unmount again.
  local try
  for try in 1 2 3 4 5; do
    find /sys/fs/cgroup/hugetlb -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
    umount /sys/fs/cgroup/hugetlb 2>/dev/null
    for _ in $(seq 20); do
      grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers && break 2
      sleep 0.1
    done
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null || break
  done
  rmdir /sys/fs/cgroup/hugetlb 2>/dev/null
  grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers ||
    echo "warning: hugetlb has not returned to cgroup2 yet"
  HUGETLB_MOUNTED=0
}
