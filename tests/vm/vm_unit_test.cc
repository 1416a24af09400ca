// Unit tests of the VM handler's pure parts: the agent protocol, the QEMU command line, the
// kernel command line, the initramfs (cpio) writer, module resolution, sizing, guest plans,
// QMP parsing and SHA-256.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "oci/spec.h"
#include "support/harness.h"
#include "vm/cpio.h"
#include "vm/guest_plan.h"
#include "vm/initramfs.h"
#include "vm/kernel.h"
#include "vm/kernel_cmdline.h"
#include "vm/protocol.h"
#include "vm/qemu_argv.h"
#include "vm/qmp.h"
#include "vm/root_initrd.h"
#include "vm/rootfs_image.h"
#include "vm/sha256.h"
#include "vm/vm_options.h"

namespace berth::vm {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The value following `flag` in argv (the first occurrence whose value starts with prefix).
std::string arg_after(const std::vector<std::string>& argv, const std::string& flag,
                      const std::string& prefix = "") {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag && argv[i + 1].rfind(prefix, 0) == 0) return argv[i + 1];
  return "";
}

// ---- protocol ----

TEST(Protocol, FrameRoundTripInPieces) {
  std::string wire = proto::encode_frame(proto::Type::kStdout, "hello") +
                     proto::encode_frame(proto::Type::kExit, proto::encode_u32(3)) +
                     proto::encode_frame(proto::Type::kAck);
  EXPECT_EQ(wire.size(), 5u + 5 + 5 + 4 + 5);
  proto::Decoder d;
  std::vector<proto::Frame> got;
  // One byte at a time: frames come out whole and in order.
  for (char c : wire) {
    d.feed(&c, 1);
    while (true) {
      auto f = d.next();
      ASSERT_TRUE(f) << f.error().text();
      if (!*f) break;
      got.push_back(std::move(**f));
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, proto::Type::kStdout);
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_EQ(got[1].type, proto::Type::kExit);
  EXPECT_EQ(*proto::decode_u32(got[1].payload), 3u);
  EXPECT_EQ(got[2].type, proto::Type::kAck);
  EXPECT_TRUE(got[2].payload.empty());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Protocol, HeaderIsLittleEndianLengthThenType) {
  std::string f = proto::encode_frame(proto::Type::kStdin, std::string(258, 'x'));
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 2);
  EXPECT_EQ(static_cast<unsigned char>(f[1]), 1);
  EXPECT_EQ(f[2], 0);
  EXPECT_EQ(f[3], 0);
  EXPECT_EQ(static_cast<unsigned char>(f[4]), static_cast<unsigned>(proto::Type::kStdin));
}

TEST(Protocol, RejectsUnknownTypeAndOversizedFrames) {
  proto::Decoder d;
  std::string bad = proto::encode_frame(proto::Type::kLog, "x");
  bad[4] = 99;
  d.feed(bad.data(), bad.size());
  EXPECT_FALSE(d.next());

  proto::Decoder d2;
  std::string big = {'\xff', '\xff', '\xff', '\x7f', static_cast<char>(proto::Type::kStdout)};
  d2.feed(big.data(), big.size());
  auto r = d2.next();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().text().find("over the limit"), std::string::npos);
}

proto::GuestConfig sample_config() {
  proto::GuestConfig c;
  c.hostname = "vm1";
  c.domainname = "example";
  c.root_readonly = true;
  c.mounts = {
      {proto::GuestMount::Kind::kMount, "proc", "/proc", "proc", MS_NOSUID, "", ""},
      {proto::GuestMount::Kind::kVirtiofs, "berth0", "/data", "virtiofs", MS_RDONLY, "", ""},
      {proto::GuestMount::Kind::kFile, "/etc/hosts", "/etc/hosts", "", 0, "",
       std::string("127.0.0.1 localhost\n\0bin", 24)}};
  c.masked_paths = {"/proc/kcore"};
  c.readonly_paths = {"/proc/sys"};
  c.sysctl = {{"net.ipv4.ip_forward", "1"}};
  c.net = {"eth0", "52:54:00:01:02:03", "10.0.0.2", 24, "10.0.0.1"};
  c.process.args = {"sh", "-c", "echo hi"};
  c.process.env = {"A=1", "B="};
  c.process.cwd = "/tmp";
  c.process.uid = 1000;
  c.process.gid = 100;
  c.process.additional_gids = {5, 6};
  c.process.umask = 022;
  c.process.terminal = true;
  c.process.rows = 24;
  c.process.cols = 80;
  c.process.rlimits = {{RLIMIT_NOFILE, 1024, 4096}};
  c.process.capabilities = std::vector<uint64_t>{1, 2, 3, 4, 5};
  c.process.no_new_privileges = true;
  c.process.oom_score_adj = -500;
  return c;
}

TEST(Protocol, ConfigRoundTrip) {
  proto::GuestConfig c = sample_config();
  auto back = proto::decode_config(proto::encode_config(c));
  ASSERT_TRUE(back) << back.error().text();
  EXPECT_EQ(*back, c);

  proto::GuestConfig empty;
  auto back2 = proto::decode_config(proto::encode_config(empty));
  ASSERT_TRUE(back2);
  EXPECT_EQ(*back2, empty);
  EXPECT_FALSE(back2->process.umask);
  EXPECT_FALSE(back2->process.capabilities);
}

TEST(Protocol, TruncatedOrPaddedConfigIsAnError) {
  std::string wire = proto::encode_config(sample_config());
  // Every strict prefix fails cleanly (no crash, no huge allocation).
  for (size_t n = 0; n < wire.size(); ++n)
    EXPECT_FALSE(proto::decode_config(std::string_view(wire).substr(0, n))) << n;
  EXPECT_FALSE(proto::decode_config(wire + "x"));
  // A lying count.
  std::string lie = wire;
  lie[0] = '\xff';
  lie[1] = '\xff';
  lie[2] = '\xff';
  EXPECT_FALSE(proto::decode_config(lie));
}

TEST(Protocol, SignalAndResize) {
  auto s = proto::decode_signal(proto::encode_signal(15, true));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first, 15);
  EXPECT_TRUE(s->second);
  EXPECT_FALSE(proto::decode_signal(proto::encode_signal(0, false)));
  EXPECT_FALSE(proto::decode_signal(proto::encode_signal(65, false)));
  auto r = proto::decode_resize(proto::encode_resize(40, 132));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 40u);
  EXPECT_EQ(r->second, 132u);
}

// ---- QEMU argv ----

QemuPlan base_plan() {
  QemuPlan p;
  p.qemu = "/usr/bin/qemu-system-x86_64";
  p.name = "berth-c1";
  p.memory_mib = 512;
  p.cpus = 2;
  p.kernel = "/k/vmlinux";
  p.initrd = "/k/initrd";
  p.cmdline = "console=ttyS0 quiet";
  p.console_log = "/run/c1/console.log";
  p.qmp_fd = 3;
  p.agent_fd = 4;
  p.rootfs = "/dev/fd/5";
  return p;
}

TEST(QemuArgv, MicrovmTcgWithSnapshotRootAndControlPorts) {
  auto a = qemu_argv(base_plan());
  EXPECT_EQ(a[0], "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(arg_after(a, "-machine"), "microvm,acpi=on");
  EXPECT_TRUE(contains(a, "-nodefaults"));
  EXPECT_TRUE(contains(a, "-no-user-config"));
  EXPECT_TRUE(contains(a, "-no-reboot"));
  EXPECT_EQ(arg_after(a, "-accel"), "tcg");
  EXPECT_EQ(arg_after(a, "-m"), "512M");
  EXPECT_EQ(arg_after(a, "-smp"), "2");
  EXPECT_EQ(arg_after(a, "-kernel"), "/k/vmlinux");
  EXPECT_EQ(arg_after(a, "-initrd"), "/k/initrd");
  EXPECT_EQ(arg_after(a, "-append"), "console=ttyS0 quiet");
  EXPECT_EQ(arg_after(a, "-chardev", "socket,id=qmp"), "socket,id=qmp,fd=3");
  EXPECT_EQ(arg_after(a, "-mon"), "chardev=qmp,mode=control");
  EXPECT_EQ(arg_after(a, "-chardev", "socket,id=agent"), "socket,id=agent,fd=4");
  EXPECT_EQ(arg_after(a, "-device", "virtserialport"), "virtserialport,chardev=agent,name=berth.0");
  std::string drive = arg_after(a, "-drive");
  EXPECT_NE(drive.find("file=/dev/fd/5"), std::string::npos);
  EXPECT_NE(drive.find("snapshot=on"), std::string::npos);
  EXPECT_NE(drive.find("format=raw"), std::string::npos);
  EXPECT_EQ(arg_after(a, "-device", "virtio-blk"), "virtio-blk-device,drive=root");
  EXPECT_EQ(arg_after(a, "-chardev", "file"), "file,id=console,path=/run/c1/console.log");
  EXPECT_EQ(arg_after(a, "-serial"), "chardev:console");
  // No shared memory, no network unless asked.
  EXPECT_FALSE(contains(a, "-object"));
  EXPECT_FALSE(contains(a, "-netdev"));
}

TEST(QemuArgv, KvmVirtiofsAndTap) {
  QemuPlan p = base_plan();
  p.kvm = true;
  p.shares = {{"berth0", "/run/c1/fs-berth0.sock"}, {"berth1", "/run/c1/fs-berth1.sock"}};
  p.net = QemuNet{QemuNet::Kind::kTap, "tap-c1", "52:54:00:aa:bb:cc"};
  auto a = qemu_argv(p);
  EXPECT_EQ(arg_after(a, "-accel"), "kvm");
  EXPECT_EQ(arg_after(a, "-cpu"), "host");
  EXPECT_EQ(arg_after(a, "-object"), "memory-backend-memfd,id=mem,size=512M,share=on");
  EXPECT_EQ(arg_after(a, "-machine"), "microvm,acpi=on,memory-backend=mem");
  EXPECT_EQ(arg_after(a, "-chardev", "socket,id=berth1"),
            "socket,id=berth1,path=/run/c1/fs-berth1.sock");
  EXPECT_EQ(arg_after(a, "-device", "vhost-user-fs-device,chardev=berth0"),
            "vhost-user-fs-device,chardev=berth0,tag=berth0");
  EXPECT_EQ(arg_after(a, "-netdev"), "tap,id=net0,ifname=tap-c1,script=no,downscript=no,vhost=off");
  EXPECT_EQ(arg_after(a, "-device", "virtio-net"),
            "virtio-net-device,netdev=net0,mac=52:54:00:aa:bb:cc");
}

TEST(QemuArgv, ConsoleToASocketWhenGiven) {
  QemuPlan p = base_plan();
  p.console_fd = 6;
  auto a = qemu_argv(p);
  EXPECT_EQ(arg_after(a, "-chardev", "socket,id=console"), "socket,id=console,fd=6");
  EXPECT_EQ(arg_after(a, "-chardev", "file"), "");
  EXPECT_EQ(arg_after(a, "-serial"), "chardev:console");
}

TEST(QemuArgv, UserNetwork) {
  QemuPlan p = base_plan();
  p.net = QemuNet{QemuNet::Kind::kUser, "", ""};
  auto a = qemu_argv(p);
  EXPECT_EQ(arg_after(a, "-netdev"), "user,id=net0");
  EXPECT_EQ(arg_after(a, "-device", "virtio-net"), "virtio-net-device,netdev=net0");
}

// ---- kernel command line ----

TEST(KernelCmdline, TscModulesAndQuiet) {
  CmdlineOptions o;
  o.tsc_khz = 2096036;
  o.modules = {"virtio", "virtio_ring", "virtio_mmio"};
  std::string c = kernel_cmdline(o);
  EXPECT_NE(c.find("console=ttyS0"), std::string::npos);
  EXPECT_NE(c.find(" quiet"), std::string::npos);
  EXPECT_NE(c.find("tsc_early_khz=2096036"), std::string::npos);
  EXPECT_NE(c.find("cryptomgr.notests"), std::string::npos);
  EXPECT_NE(c.find("panic=-1"), std::string::npos);
  EXPECT_NE(c.find("berth.modules=virtio,virtio_ring,virtio_mmio"), std::string::npos);
  o.verbose = true;
  o.tsc_khz = 0;
  o.modules.clear();
  c = kernel_cmdline(o);
  EXPECT_EQ(c.find("quiet"), std::string::npos);
  EXPECT_EQ(c.find("tsc_early_khz"), std::string::npos);
  EXPECT_EQ(c.find("berth.modules"), std::string::npos);
}

// ---- modules.dep ----

constexpr const char* kModulesDep =
    "kernel/fs/fuse/fuse.ko:\n"
    "kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
    "kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/net/core/failover.ko:\n"
    "kernel/drivers/char/dash-name.ko.xz:\n";

TEST(Modules, ParseNames) {
  EXPECT_EQ(module_name("kernel/drivers/char/dash-name.ko.xz"), "dash_name");
  auto deps = parse_modules_dep(kModulesDep);
  ASSERT_EQ(deps.count("virtiofs"), 1u);
  EXPECT_EQ(deps["virtiofs"].path, "kernel/fs/fuse/virtiofs.ko");
  EXPECT_EQ(deps["virtiofs"].deps, (std::vector<std::string>{"virtio", "virtio_ring", "fuse"}));
  EXPECT_EQ(deps.count("dash_name"), 1u);
}

TEST(Modules, DependenciesFirstEachOnceBuiltinsSkipped) {
  auto deps = parse_modules_dep(kModulesDep);
  auto order = resolve_modules(deps, {"virtio_mmio", "ext4", "virtiofs", "virtio_net"});
  ASSERT_TRUE(order) << order.error().text();
  std::vector<std::string> want = {"virtio_ring", "virtio",   "virtio_mmio",  "fuse",
                                   "virtiofs",    "failover", "net_failover", "virtio_net"};
  EXPECT_EQ(*order, want);
  // Every module comes after all of its dependencies.
  for (size_t i = 0; i < order->size(); ++i)
    for (const auto& d : deps[(*order)[i]].deps) {
      auto pos = std::find(order->begin(), order->end(), d) - order->begin();
      EXPECT_LT(static_cast<size_t>(pos), i) << d << " before " << (*order)[i];
    }
}

TEST(Modules, CycleIsAnError) {
  auto deps = parse_modules_dep("a.ko: b.ko\nb.ko: a.ko\n");
  EXPECT_FALSE(resolve_modules(deps, {"a"}));
}

// ---- cpio ----

struct CpioEntry {
  std::string name;
  uint32_t mode = 0, rmajor = 0, rminor = 0;
  std::string data;
};

// An independent reader of newc archives, to check the writer.
std::vector<CpioEntry> read_cpio(const std::string& a) {
  std::vector<CpioEntry> out;
  size_t pos = 0;
  auto hex = [&](size_t off) {
    return static_cast<uint32_t>(std::stoul(a.substr(off, 8), nullptr, 16));
  };
  while (pos + 110 <= a.size()) {
    EXPECT_EQ(a.substr(pos, 6), "070701");
    CpioEntry e;
    e.mode = hex(pos + 14);
    uint32_t size = hex(pos + 54);
    e.rmajor = hex(pos + 78);
    e.rminor = hex(pos + 86);
    uint32_t namesize = hex(pos + 94);
    e.name = a.substr(pos + 110, namesize - 1);
    EXPECT_EQ(a[pos + 110 + namesize - 1], '\0');
    pos = (pos + 110 + namesize + 3) & ~size_t(3);
    e.data = a.substr(pos, size);
    pos = (pos + size + 3) & ~size_t(3);
    if (e.name == "TRAILER!!!") break;
    out.push_back(std::move(e));
  }
  return out;
}

TEST(Cpio, NewcEntriesAlignedAndTrailed) {
  CpioWriter w;
  w.dir("dev");
  w.char_device("dev/console", 5, 1);
  w.file("init", "#!agent", 0755);
  w.file("lib/modules/x.ko", std::string("\0\x01\x02", 3));
  w.symlink("sbin", "bin");
  std::string a = w.finish();
  EXPECT_EQ(a.size() % 512, 0u);
  EXPECT_NE(a.find("TRAILER!!!"), std::string::npos);
  auto e = read_cpio(a);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].name, "dev");
  EXPECT_TRUE(S_ISDIR(e[0].mode));
  EXPECT_EQ(e[1].name, "dev/console");
  EXPECT_TRUE(S_ISCHR(e[1].mode));
  EXPECT_EQ(e[1].rmajor, 5u);
  EXPECT_EQ(e[1].rminor, 1u);
  EXPECT_EQ(e[2].name, "init");
  EXPECT_EQ(e[2].mode, static_cast<uint32_t>(S_IFREG | 0755));
  EXPECT_EQ(e[2].data, "#!agent");
  EXPECT_EQ(e[3].data, std::string("\0\x01\x02", 3));
  EXPECT_TRUE(S_ISLNK(e[4].mode));
  EXPECT_EQ(e[4].data, "bin");
}

// ---- initramfs ----

TEST(Initramfs, ModuleSignatureStripped) {
  std::string body =
      "\x7f"
      "ELF module body";
  std::string sig(300, 's');
  std::string info = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 44};  // sig_len 300, big-endian
  std::string signed_ko = body + sig + info + "~Module signature appended~\n";
  EXPECT_EQ(strip_module_signature(signed_ko), body);
  EXPECT_EQ(strip_module_signature(body), body);  // unsigned: unchanged
  // A signature length beyond the file is not trusted.
  std::string bad =
      body + std::string({0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0}) + "~Module signature appended~\n";
  EXPECT_EQ(strip_module_signature(bad), bad);
}

TEST(Initramfs, AgentAsInitModulesAndConsole) {
  std::string a = build_initramfs("AGENT", {{"virtio", "V1"}, {"virtio_blk", "B2"}});
  auto e = read_cpio(a);
  std::map<std::string, CpioEntry> by;
  for (auto& x : e) by[x.name] = x;
  ASSERT_TRUE(by.count("init"));
  EXPECT_EQ(by["init"].data, "AGENT");
  EXPECT_EQ(by["init"].mode & 0777, 0755u);
  EXPECT_EQ(by["lib/modules/virtio.ko"].data, "V1");
  EXPECT_EQ(by["lib/modules/virtio_blk.ko"].data, "B2");
  EXPECT_TRUE(S_ISCHR(by["dev/console"].mode));
}

// The digest the build embedded (the initramfs cache key) is the embedded agent's.
TEST(Initramfs, BuildDigestIsTheAgentsSha256) {
  std::string_view agent = agent_binary();
  ASSERT_GT(agent.size(), 100000u);
  Sha256 h;
  h.update(agent);
  EXPECT_EQ(agent_digest(), h.hex());
}

// ---- the root in the initramfs ----

TEST(RootInitrd, TreeAsRootfsEntriesWithModesOwnersAndLinks) {
  test::TempDir t("berth-test-rootcpio");
  std::string root = t.path() + "/r";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/etc").c_str(), 0750), 0);
  { std::ofstream(root + "/etc/a") << "one"; }
  ASSERT_EQ(chown((root + "/etc/a").c_str(), 1000, 1001), 0);
  ASSERT_EQ(chmod((root + "/etc/a").c_str(), 04711), 0);  // after chown, which clears set-id
  ASSERT_EQ(symlink("etc/a", (root + "/link").c_str()), 0);
  auto a = build_root_cpio(root);
  ASSERT_TRUE(a) << a.error().text();
  std::map<std::string, CpioEntry> by;
  for (auto& x : read_cpio(*a)) by[x.name] = x;
  ASSERT_EQ(by.size(), 4u);
  EXPECT_TRUE(S_ISDIR(by["rootfs"].mode));
  EXPECT_EQ(by["rootfs/etc"].mode, static_cast<uint32_t>(S_IFDIR | 0750));
  EXPECT_EQ(by["rootfs/etc/a"].mode, static_cast<uint32_t>(S_IFREG | 04711));
  EXPECT_EQ(by["rootfs/etc/a"].data, "one");
  EXPECT_TRUE(S_ISLNK(by["rootfs/link"].mode));
  EXPECT_EQ(by["rootfs/link"].data, "etc/a");
  // The owner travels too (newc: uid at offset 6+16, gid at 6+24, 8 hex digits each).
  size_t at = a->find("rootfs/etc/a");
  ASSERT_NE(at, std::string::npos);
  size_t hdr = at - 110;
  EXPECT_EQ(a->substr(hdr + 22, 8), "000003e8");
  EXPECT_EQ(a->substr(hdr + 30, 8), "000003e9");
}

TEST(RootInitrd, WhatCpioCannotCarryKeepsTheImage) {
  test::TempDir t("berth-test-rootcpio");
  std::string root = t.path() + "/r";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  { std::ofstream(root + "/ping") << "binary"; }
  ASSERT_TRUE(build_root_cpio(root));
  // A file capability (any extended attribute) would be lost in cpio.
  ASSERT_EQ(setxattr((root + "/ping").c_str(), "user.berth", "x", 1, 0), 0);
  auto x = build_root_cpio(root);
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(x.error().text().find("ping"), std::string::npos) << x.error().text();
  ASSERT_EQ(removexattr((root + "/ping").c_str(), "user.berth"), 0);
  ASSERT_EQ(mkfifo((root + "/fifo").c_str(), 0600), 0);
  auto f = build_root_cpio(root);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind(), ErrorKind::kUnavailable);
  ASSERT_EQ(unlink((root + "/fifo").c_str()), 0);
  // Too big for the guest's RAM.
  { std::ofstream(root + "/big") << std::string(kInitrdRootMaxBytes + 1, 'b'); }
  EXPECT_EQ(build_root_cpio(root).error().kind(), ErrorKind::kUnavailable);
}

// ---- rootfs image key ----

TEST(RootfsImage, TreeKeyFollowsContentChanges) {
  test::TempDir t("berth-test-tree");
  std::string root = t.path() + "/r";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/etc").c_str(), 0755), 0);
  { std::ofstream(root + "/etc/a") << "one"; }
  ASSERT_EQ(symlink("etc/a", (root + "/link").c_str()), 0);
  auto k1 = scan_tree(root);
  ASSERT_TRUE(k1) << k1.error().text();
  EXPECT_EQ(k1->entries, 3u);
  EXPECT_EQ(k1->bytes, 4096u);
  auto k2 = scan_tree(root);
  EXPECT_EQ(k1->key, k2->key);                  // stable
  { std::ofstream(root + "/etc/a") << "two"; }  // same size, new content (mtime/ctime)
  auto k3 = scan_tree(root);
  EXPECT_NE(k1->key, k3->key);
  ASSERT_EQ(unlink((root + "/link").c_str()), 0);
  ASSERT_EQ(symlink("etc/b", (root + "/link").c_str()), 0);
  EXPECT_NE(scan_tree(root)->key, k3->key);
  EXPECT_FALSE(scan_tree(t.path() + "/missing"));
  // Room for the data, its metadata and 1 GiB of writes; whole MiB.
  uint64_t b = image_bytes(*k1);
  EXPECT_GE(b, (1ull << 30) + 4096);
  EXPECT_EQ(b % (1 << 20), 0u);
  EXPECT_GT(image_inodes(*k1), k1->entries);
}

// ---- sizing and options ----

oci::Spec spec_with(std::optional<int64_t> mem, std::optional<int64_t> quota,
                    std::optional<uint64_t> period, std::string cpus) {
  oci::Spec s;
  oci::Resources r;
  if (mem) r.memory = oci::Memory{.limit = mem};
  oci::Cpu c;
  c.quota = quota;
  c.period = period;
  c.cpus = std::move(cpus);
  r.cpu = c;
  s.linux.resources = r;
  return s;
}

TEST(VmSize, DefaultsLimitsAndOverrides) {
  VmOptions o;
  oci::Spec none;
  EXPECT_EQ(vm_size(none, o, 8).memory_mib, kDefaultMemoryMiB);
  EXPECT_EQ(vm_size(none, o, 8).cpus, kDefaultCpus);
  // 300 MiB + 1 byte rounds up; quota 150000/100000 rounds up to 2.
  auto s = vm_size(spec_with((300ll << 20) + 1, 150000, 100000, ""), o, 8);
  EXPECT_EQ(s.memory_mib, 301u);
  EXPECT_EQ(s.cpus, 2u);
  // A tiny limit still boots; a cpuset counts CPUs; never more than the host has.
  s = vm_size(spec_with(16ll << 20, std::nullopt, std::nullopt, "0-3,6"), o, 8);
  EXPECT_EQ(s.memory_mib, kMinMemoryMiB);
  EXPECT_EQ(s.cpus, 5u);
  EXPECT_EQ(vm_size(spec_with(std::nullopt, 800000, 100000, ""), o, 2).cpus, 2u);
  EXPECT_EQ(vm_size(spec_with(-1, -1, 100000, ""), o, 8).memory_mib, kDefaultMemoryMiB);
  o.memory_mib = 1024;
  o.cpus = 1;
  s = vm_size(spec_with(300ll << 20, 400000, 100000, ""), o, 8);
  EXPECT_EQ(s.memory_mib, 1024u);
  EXPECT_EQ(s.cpus, 1u);
}

TEST(VmOptions, Annotations) {
  auto o = apply_annotations({}, {{"run.oci.berth.vm.memory", "512"},
                                  {"run.oci.berth.vm.cpus", "2"},
                                  {"run.oci.berth.vm.tap", "tap0"},
                                  {"run.oci.berth.vm.address", "10.1.0.2/24"},
                                  {"run.oci.berth.vm.accel", "tcg"},
                                  {"unrelated", "x"}});
  ASSERT_TRUE(o) << o.error().text();
  EXPECT_EQ(o->memory_mib, 512u);
  EXPECT_EQ(o->cpus, 2u);
  EXPECT_EQ(o->net, "tap");
  EXPECT_EQ(o->tap, "tap0");
  EXPECT_EQ(o->address, "10.1.0.2/24");
  EXPECT_EQ(o->kvm, false);
  EXPECT_FALSE(apply_annotations({}, {{"run.oci.berth.vm.memory", "lots"}}));
  EXPECT_FALSE(apply_annotations({}, {{"run.oci.berth.vm.net", "tap"}}));
  EXPECT_FALSE(apply_annotations({}, {{"run.oci.berth.vm.accel", "hvf"}}));
  EXPECT_EQ(o->rootfs_mode, "auto");
  EXPECT_EQ(apply_annotations({}, {{"run.oci.berth.vm.rootfs", "image"}})->rootfs_mode, "image");
  EXPECT_FALSE(apply_annotations({}, {{"run.oci.berth.vm.rootfs", "floppy"}}));
  EXPECT_EQ(mac_for("c1"), mac_for("c1"));
  EXPECT_NE(mac_for("c1"), mac_for("c2"));
  EXPECT_EQ(mac_for("c1").rfind("52:54:00:", 0), 0u);
}

// ---- guest plan ----

TEST(GuestPlan, MountsBecomeGuestMountsSharesAndCopies) {
  auto spec = oci::parse_spec(oci::default_spec(false).dump());
  ASSERT_TRUE(spec) << spec.error().text();
  spec->mounts.push_back({"/data", "bind", "/host/dir", {"rbind", "ro"}, {}, {}});
  spec->mounts.push_back({"/again", "bind", "/host/dir", {"bind"}, {}, {}});
  spec->mounts.push_back({"/etc/resolv.conf", "bind", "/host/resolv.conf", {"bind"}, {}, {}});
  spec->mounts.push_back({"/dev/fuse", "bind", "/dev/fuse", {"bind"}, {}, {}});
  spec->hostname = "h";
  spec->process->env = {"X=1"};
  std::map<std::string, SourceKind> fs = {{"/host/dir", SourceKind::kDirectory},
                                          {"/host/resolv.conf", SourceKind::kFile},
                                          {"/dev/fuse", SourceKind::kOther}};
  auto plan = plan_guest(*spec, "/bundle", [&](const std::string& p) {
    auto it = fs.find(p);
    return it == fs.end() ? SourceKind::kMissing : it->second;
  });
  ASSERT_TRUE(plan) << plan.error().text();
  const auto& c = plan->config;
  EXPECT_EQ(c.hostname, "h");
  EXPECT_EQ(c.process.env, std::vector<std::string>{"X=1"});
  std::map<std::string, proto::GuestMount> by_target;
  for (const auto& m : c.mounts) by_target[m.target] = m;
  EXPECT_EQ(by_target["/proc"].fstype, "proc");
  EXPECT_EQ(by_target["/dev"].fstype, "devtmpfs");  // the guest's own devices
  EXPECT_EQ(by_target["/dev/pts"].fstype, "devpts");
  EXPECT_EQ(by_target["/sys/fs/cgroup"].fstype, "cgroup2");
  EXPECT_EQ(by_target["/data"].kind, proto::GuestMount::Kind::kVirtiofs);
  EXPECT_EQ(by_target["/data"].source, "berth0");
  EXPECT_TRUE(by_target["/data"].flags & MS_RDONLY);
  EXPECT_EQ(by_target["/again"].source, "berth0");  // one virtiofsd per directory
  EXPECT_FALSE(by_target["/again"].flags & MS_RDONLY);
  EXPECT_EQ(by_target["/etc/resolv.conf"].kind, proto::GuestMount::Kind::kFile);
  EXPECT_EQ(by_target.count("/dev/fuse"), 0u);  // skipped, with a warning
  EXPECT_EQ(plan->warnings.size(), 1u);
  ASSERT_EQ(plan->shares.size(), 1u);
  EXPECT_EQ(plan->shares[0].source, "/host/dir");
  ASSERT_EQ(plan->copied_files.size(), 1u);
  EXPECT_EQ(plan->copied_files[0].second, "/host/resolv.conf");
  // Capabilities, rlimits and masked paths of the default spec travel to the guest.
  ASSERT_TRUE(c.process.capabilities);
  EXPECT_EQ(c.process.capabilities->size(), 5u);
  EXPECT_FALSE(c.process.rlimits.empty());
  EXPECT_FALSE(c.masked_paths.empty());
}

TEST(GuestPlan, MissingBindSourceIsAnError) {
  oci::Spec s;
  s.process = oci::Process{};
  s.mounts.push_back({"/data", "bind", "relative/dir", {"bind"}, {}, {}});
  std::string seen;
  auto plan = plan_guest(s, "/bundle", [&](const std::string& p) {
    seen = p;
    return SourceKind::kMissing;
  });
  ASSERT_FALSE(plan);
  EXPECT_EQ(seen, "/bundle/relative/dir");  // relative sources are in the bundle
  EXPECT_NE(plan.error().text().find("does not exist"), std::string::npos);
}

// ---- QMP ----

TEST(Qmp, ParsesGreetingReturnErrorEvent) {
  auto g = parse_qmp_line(R"({"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}})");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, QmpMessage::Kind::kGreeting);
  auto r = parse_qmp_line(R"({"return": {"status": "running", "running": true}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, QmpMessage::Kind::kReturn);
  EXPECT_EQ(r->body["status"], "running");
  auto e = parse_qmp_line(R"({"error": {"class": "GenericError", "desc": "nope"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, QmpMessage::Kind::kError);
  EXPECT_EQ(e->name, "GenericError");
  EXPECT_EQ(e->desc, "nope");
  auto ev = parse_qmp_line(
      R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": true}})");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->kind, QmpMessage::Kind::kEvent);
  EXPECT_EQ(ev->name, "SHUTDOWN");
  EXPECT_EQ(ev->body["guest"], true);
  for (const char* bad : {"", "[]", "{", "{\"x\": 1}", "{\"error\": 3}", "{\"event\": 3}",
                          "\xff\xfe", "{\"return\": 1} trailing"})
    EXPECT_FALSE(parse_qmp_line(bad)) << bad;
}

// ---- SHA-256 ----

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Fed in uneven pieces, a million 'a's.
  Sha256 h;
  std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left) {
    size_t n = std::min(left, chunk.size());
    h.update(std::string_view(chunk).substr(0, n));
    left -= n;
  }
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace berth::vm
