// Applies one layer tar (uncompressed stream) into an empty directory, in the form overlayfs
// reads: whiteouts ".wh.NAME" become 0:0 character devices, ".wh..wh..opq" becomes the
// trusted.overlay.opaque xattr on its directory.
//
// Layers are hostile. Every entry is created with *at() calls relative to a directory fd
// resolved inside the layer root (sys::open_in_root): ".." components are refused, absolute
// names are taken relative to the root, a symlink in a parent path resolves inside the root
// (never outside it), the last component is never followed, and a hardlink may only point at
// a non-directory inside the layer. trusted.overlay.* xattrs in the archive are dropped.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "image/stream.h"

namespace berth::image {

struct UnpackOptions {
  // Not root (or in a user namespace): ownership that cannot be set is kept as the caller's,
  // and device nodes other than whiteouts are skipped.
  bool rootless = false;
  // Write whiteouts as overlayfs wants them (else keep ".wh." files as they are).
  bool overlay_whiteouts = true;
};

struct UnpackStats {
  int64_t entries = 0;
  int64_t bytes = 0;  // regular file data
  int64_t whiteouts = 0;
};

// Reads a tar stream from in and applies it into layer_dirfd (an empty directory).
Result<UnpackStats> unpack_layer(Reader& in, int layer_dirfd, const UnpackOptions& opts = {});

// The entry name after cleaning: leading "/" and "./" dropped, "." components removed.
// Fails for ".." components and names that are empty after cleaning are returned as "".
Result<std::string> clean_entry_name(std::string_view name);

}  // namespace berth::image
