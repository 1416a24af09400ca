# src/net tests: pure parts (unit) and real namespaces, bridges and nftables (net).

# Rule sets, IPAM, port parsing, DNS messages and records, /etc files, record JSON.
file(GLOB NET_UNIT_TESTS CONFIGURE_DEPENDS net/unit_*_test.cc)
add_executable(berth_net_unit_tests ${NET_UNIT_TESTS})
target_link_libraries(berth_net_unit_tests PRIVATE berth_net GTest::gtest_main)
gtest_discover_tests(berth_net_unit_tests PROPERTIES LABELS unit FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60)

# Integration: "containers" are network namespaces running busybox; as root. The binary is
# also the DNS responder program of the networks it makes (see net/main.cc).
file(GLOB NET_TESTS CONFIGURE_DEPENDS net/net_*_test.cc)
add_executable(berth_net_tests net/main.cc net/net_fixture.cc ${NET_TESTS})
target_link_libraries(berth_net_tests PRIVATE berth_net berth_test_support GTest::gtest)
gtest_discover_tests(berth_net_tests PROPERTIES LABELS net FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60)
