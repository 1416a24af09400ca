// Where the engine keeps things. Everything persistent under root (default /var/lib/berth),
// everything that a reboot must forget under state (default /run/berth, tmpfs).
//
//   <root>/berth.db                  container records (SQLite, WAL; the image store's file)
//   <root>/containers/<id>/          bundle: config.json, logs
//   <root>/containers/.spare/        emptied bundle directories kept for reuse
//   <root>/volumes/<name>/_data      named volumes (and volume.json)
//   <root>/networks/                 the network store (src/net)
//   <root>/ (blobs, layers, ...)     the image store (src/image)
//   <state>/runtime/<id>/            the container handler's state (berth-runtime's --root)
//   <state>/monitor/<id>/            the monitor's pid, status.json, stop request; and the
//                                    container's hosts, resolv.conf and hostname, made at
//                                    every start (on a tmpfs: no disk inodes per run)
//   <state>/netns/<id>               the container's pinned network namespace
#pragma once

#include <string>

#include "base/path.h"

namespace berth::engine {

struct Paths {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";

  std::string containers() const { return path::join(root, "containers"); }
  std::string container(std::string_view id) const { return path::join(containers(), id); }
  std::string log_file(std::string_view id) const {
    return path::join(container(id), "container.log");
  }
  std::string volumes() const { return path::join(root, "volumes"); }
  std::string networks() const { return path::join(root, "networks"); }
  std::string runtime() const { return path::join(state, "runtime"); }
  std::string monitor(std::string_view id) const {
    return path::join(path::join(state, "monitor"), id);
  }
  std::string etc(std::string_view id) const { return monitor(id); }
  std::string netns_dir() const { return path::join(state, "netns"); }
  std::string netns(std::string_view id) const { return path::join(netns_dir(), id); }
};

}  // namespace berth::engine
