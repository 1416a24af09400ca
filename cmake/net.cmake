# berth_net: bridge networks, IPAM, nftables NAT and published ports, the embedded DNS
# responder, network namespaces (src/net). Linked into the berth binary.
# Netlink messages are built and parsed with libnl-3 (its core library only): Debian ships it
# as a static archive, so the static `berth` needs no shared library for networking (libmnl,
# used before, has none).
find_package(PkgConfig REQUIRED)
pkg_check_modules(BERTH_NL REQUIRED libnl-3.0)
if(BERTH_STATIC)
  find_library(BERTH_NL_LIB libnl-3.a REQUIRED)
else()
  set(BERTH_NL_LIB ${BERTH_NL_LINK_LIBRARIES})
endif()
# libnftables is opened with dlopen on first use (base/dynlib.h); only its header is needed.
find_path(NFTABLES_INCLUDE nftables/libnftables.h REQUIRED)
file(GLOB BERTH_NET_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/net/*.cc)
add_library(berth_net STATIC ${BERTH_NET_SOURCES})
target_include_directories(berth_net PUBLIC ${BERTH_NL_INCLUDE_DIRS})
target_link_libraries(berth_net PUBLIC berth ${BERTH_NL_LIB})
berth_pch(berth_net)
