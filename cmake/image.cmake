# Images and registries: the content store, layer unpacking, snapshots, the registry client.
# Dynamic libraries are fine here: berth-runtime does not link this.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BERTH_IMAGE_DEPS REQUIRED IMPORTED_TARGET
  libarchive sqlite3 libzstd zlib libcrypto)
# libcurl is opened with dlopen on first use (base/dynlib.h): only its header is needed here.
pkg_check_modules(BERTH_CURL REQUIRED libcurl)
find_package(Threads REQUIRED)

file(GLOB BERTH_IMAGE_SOURCES CONFIGURE_DEPENDS src/image/*.cc src/registry/*.cc)
add_library(berth_image STATIC ${BERTH_IMAGE_SOURCES})
target_link_libraries(berth_image PUBLIC berth PkgConfig::BERTH_IMAGE_DEPS Threads::Threads)
berth_pch(berth_image)
