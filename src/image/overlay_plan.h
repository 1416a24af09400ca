// Planning an overlayfs mount for a layer chain (a pure function, unit-tested).
//
// The classic mount(2) data string holds at most one page (4096 bytes here), which 100+
// lower directories with 64-digit names overflow. Three forms, best first:
//  - kAppend: the new mount API, one fsconfig("lowerdir+", dir) per layer (Linux 6.8+); no
//    length limit but the kernel's 500-layer stack;
//  - kAbsolute: mount(2) with absolute paths, when they fit;
//  - kShort: mount(2) with the store's short symlinks (<root>/l/<id>) given relative to the
//    store root through /proc/self/fd/<rootfd>, when they fit.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace berth::image {

struct OverlayLayer {
  std::string path;        // absolute path of the unpacked layer
  std::string short_name;  // the layer's name under <root>/l/
};

struct OverlayPlan {
  enum class Form { kAppend, kAbsolute, kShort } form = Form::kAppend;
  // kAppend: fsconfig parameters in order (an empty value: a flag). Others: the mount(2) data
  // string.
  std::vector<std::pair<std::string, std::string>> params;
  std::string data;
};

// What the snapshot asks of the mount (as opposed to what the kernel can do, OverlayCaps).
struct OverlayWants {
  // overlayfs "volatile": no syncs of the upper layer, not even at unmount (which otherwise
  // syncs the whole upper file system: ~2.5 ms per `run --rm` here). A crash of the host
  // loses the layer's contents, so only for throwaway containers (`run --rm`), as podman does.
  bool volatile_upper = false;
};

struct OverlayCaps {
  bool lowerdir_append = true;  // fsconfig "lowerdir+" works on this kernel
  size_t page_size = 4096;
  std::string root_fd_path;  // "/proc/self/fd/N" of the store root (for kShort)
};

inline constexpr size_t kOverlayMaxLayers = 500;

// layers: base first (manifest order). upper and work: absolute paths.
Result<OverlayPlan> plan_overlay(const std::vector<OverlayLayer>& layers, const std::string& upper,
                                 const std::string& work, const OverlayCaps& caps,
                                 const OverlayWants& wants = {});

}  // namespace berth::image
