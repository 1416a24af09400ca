# VM isolation tests (issue 7). Unit tests of the pure parts (label unit) and integration
# tests that boot real VMs through berth-runtime (label vm: slow under TCG, run alone with
# `ctest -L vm`).
add_executable(berth_vm_unit_tests vm/vm_unit_test.cc)
target_link_libraries(berth_vm_unit_tests PRIVATE berth_vm berth_test_support GTest::gtest_main)
gtest_discover_tests(berth_vm_unit_tests PROPERTIES LABELS unit FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60)

file(GLOB VM_INTEGRATION_TESTS CONFIGURE_DEPENDS vm/vm_*_integration_test.cc)
add_executable(berth_vm_tests ${VM_INTEGRATION_TESTS} vm/vm_fixture.cc vm/vm_env.cc)
target_link_libraries(berth_vm_tests PRIVATE berth_vm berth_test_support GTest::gtest_main)
# One VM test at a time (RESOURCE_LOCK vm, shared with the engine's VM tests): each wants
# both cores under TCG, and the fixture's leak check looks at every VM process.
gtest_discover_tests(berth_vm_tests PROPERTIES LABELS vm FIXTURES_REQUIRED suite
  RESOURCE_LOCK vm DISCOVERY_TIMEOUT 60)
