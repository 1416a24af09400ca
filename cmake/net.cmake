# berth_net: bridge networks, IPAM, nftables NAT and published ports, the embedded DNS
# responder, network namespaces (src/net). Linked into the berth binary.
find_library(MNL_LIB mnl REQUIRED)
# libnftables is opened with dlopen on first use (base/dynlib.h); only its header is needed.
find_path(NFTABLES_INCLUDE nftables/libnftables.h REQUIRED)
file(GLOB BERTH_NET_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/net/*.cc)
add_library(berth_net STATIC ${BERTH_NET_SOURCES})
target_link_libraries(berth_net PUBLIC berth ${MNL_LIB})
berth_pch(berth_net)
