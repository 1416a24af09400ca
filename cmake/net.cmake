# berth_net: bridge networks, IPAM, nftables NAT and published ports, the embedded DNS
# responder, network namespaces (src/net). Linked into the berth binary.
find_library(MNL_LIB mnl REQUIRED)
find_library(NFTABLES_LIB nftables REQUIRED)
file(GLOB BERTH_NET_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/net/*.cc)
add_library(berth_net STATIC ${BERTH_NET_SOURCES})
target_link_libraries(berth_net PUBLIC berth ${MNL_LIB} ${NFTABLES_LIB})
berth_pch(berth_net)
