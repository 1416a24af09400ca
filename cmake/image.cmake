# Images and registries: the content store, layer unpacking, snapshots, the registry client.
# Dynamic libraries are fine here: berth-runtime does not link this.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BERTH_IMAGE_DEPS REQUIRED IMPORTED_TARGET
  libarchive sqlite3 libzstd zlib nettle)
# libcurl is opened with dlopen on first use (base/dynlib.h): only its header is needed here.
pkg_check_modules(BERTH_CURL REQUIRED libcurl)
find_package(Threads REQUIRED)

file(GLOB BERTH_IMAGE_SOURCES CONFIGURE_DEPENDS src/image/*.cc src/registry/*.cc)
add_library(berth_image STATIC ${BERTH_IMAGE_SOURCES})
if(BERTH_STATIC)
  # Linked from their .a files so that `berth` does not load them (and libarchive's own
  # dependency tree: libxml2, ICU, nettle, lzma, ...) at every start; only the members
  # berth uses are linked. archive_link_trim.c keeps libarchive's writer of every other
  # format (7zip, xar, zip, ...) and their libraries out of the link.
  foreach(lib archive sqlite3 zstd z nettle)
    find_library(BERTH_STATIC_${lib} lib${lib}.a REQUIRED)
  endforeach()
  target_sources(berth_image PRIVATE src/image/archive_link_trim.c)
  # Pulls that member from libberth_image.a before libarchive.a is searched.
  target_link_options(berth_image INTERFACE
    "LINKER:--undefined=__archive_write_entry_filetype_unsupported")
  target_include_directories(berth_image PUBLIC ${BERTH_IMAGE_DEPS_INCLUDE_DIRS})
  target_link_libraries(berth_image PUBLIC berth ${BERTH_STATIC_archive} ${BERTH_STATIC_sqlite3}
    ${BERTH_STATIC_zstd} ${BERTH_STATIC_z} ${BERTH_STATIC_nettle} Threads::Threads ${CMAKE_DL_LIBS})
else()
  target_link_libraries(berth_image PUBLIC berth PkgConfig::BERTH_IMAGE_DEPS Threads::Threads)
endif()
berth_pch(berth_image)
