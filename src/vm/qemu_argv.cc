#include "vm/qemu_argv.h"

#include <fmt/format.h>

namespace berth::vm {

std::vector<std::string> qemu_argv(const QemuPlan& p) {
  std::vector<std::string> a = {p.qemu};
  auto add = [&a](std::initializer_list<std::string> items) {
    a.insert(a.end(), items.begin(), items.end());
  };
  if (!p.name.empty()) add({"-name", p.name});
  // virtiofs needs the guest's memory shared with virtiofsd: a memfd backend.
  std::string machine = "microvm,acpi=on";
  if (!p.shares.empty()) {
    add({"-object", fmt::format("memory-backend-memfd,id=mem,size={}M,share=on", p.memory_mib)});
    machine += ",memory-backend=mem";
  }
  add({"-machine", machine, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"});
  // Modern (1.0) virtio-mmio: vhost-user-fs refuses legacy devices.
  add({"-global", "virtio-mmio.force-legacy=false"});
  if (p.kvm)
    add({"-accel", "kvm", "-cpu", "host"});
  else
    add({"-accel", "tcg", "-cpu", "max"});
  add({"-m", fmt::format("{}M", p.memory_mib), "-smp", fmt::format("{}", p.cpus)});
  add({"-kernel", p.kernel, "-initrd", p.initrd, "-append", p.cmdline});
  if (p.console_fd >= 0)
    add({"-chardev", fmt::format("socket,id=console,fd={}", p.console_fd), "-serial",
         "chardev:console"});
  else if (!p.console_log.empty())
    add({"-chardev", fmt::format("file,id=console,path={}", p.console_log), "-serial",
         "chardev:console"});
  if (p.qmp_fd >= 0)
    add({"-chardev", fmt::format("socket,id=qmp,fd={}", p.qmp_fd), "-mon",
         "chardev=qmp,mode=control"});
  if (p.agent_fd >= 0)
    add({"-device", "virtio-serial-device,max_ports=2", "-chardev",
         fmt::format("socket,id=agent,fd={}", p.agent_fd), "-device",
         "virtserialport,chardev=agent,name=berth.0"});
  if (!p.rootfs.empty())
    add({"-drive",
         fmt::format("id=root,file={},format=raw,if=none,snapshot=on,cache=unsafe", p.rootfs),
         "-device", "virtio-blk-device,drive=root"});
  for (const auto& s : p.shares)
    add({"-chardev", fmt::format("socket,id={},path={}", s.tag, s.socket), "-device",
         fmt::format("vhost-user-fs-device,chardev={},tag={}", s.tag, s.tag)});
  if (p.net) {
    if (p.net->kind == QemuNet::Kind::kTap)
      add({"-netdev",
           fmt::format("tap,id=net0,ifname={},script=no,downscript=no,vhost=off", p.net->tap)});
    else
      add({"-netdev", "user,id=net0"});
    std::string dev = "virtio-net-device,netdev=net0";
    if (!p.net->mac.empty()) dev += ",mac=" + p.net->mac;
    add({"-device", dev});
  }
  return a;
}

}  // namespace berth::vm
