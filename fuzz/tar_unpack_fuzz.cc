// libFuzzer target: a layer blob (any compression) unpacked into a scratch directory. Finds
// crashes and memory errors in the decompressor, libarchive glue and the unpacker; after each
// input the scratch dir is wiped, and any file created outside it is reported by aborting.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "image/fs_util.h"
#include "image/stream.h"
#include "image/unpack.h"

namespace {

std::string scratch() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/berth-fuzz-unpack-XXXXXX";
    std::string d = mkdtemp(tmpl);
    mkdir((d + "/outside").c_str(), 0755);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string root = scratch();
  std::string layer = root + "/layer";
  mkdir(layer.c_str(), 0755);
  {
    berth::UniqueFd dir(open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    berth::image::StringReader in(std::string_view(reinterpret_cast<const char*>(data), size));
    berth::image::DecompressReader dr(in);
    (void)berth::image::unpack_layer(dr, dir.get());
    (void)dr.drain();
  }
  berth::UniqueFd rootfd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  (void)berth::image::remove_at(rootfd.get(), "layer");
  // Nothing may appear next to the layer directory.
  if (rmdir((root + "/outside").c_str()) != 0) abort();
  mkdir((root + "/outside").c_str(), 0755);
  return 0;
}
