# Engine tests (label engine): the real `berth` binary, real containers from a busybox image
# made by `berth import`, each test in a store of its own (--root/--state in temp dirs).
file(GLOB ENGINE_TESTS CONFIGURE_DEPENDS engine/*_test.cc)
list(FILTER ENGINE_TESTS EXCLUDE REGEX "engine_vm_test\\.cc$")
add_executable(berth_engine_tests ${ENGINE_TESTS} engine/engine_fixture.cc)
target_link_libraries(berth_engine_tests PRIVATE berth_test_support GTest::gtest_main)
target_include_directories(berth_engine_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(berth_engine_tests PRIVATE BERTH_CLI_BIN="$<TARGET_FILE:berth-cli>")
if(BERTH_ENTRY_PREFAULT)
  # berth has its own entry point (src/base/static/entry.c; CMakeLists.txt).
  target_compile_definitions(berth_engine_tests PRIVATE BERTH_CLI_PREFAULTS=1)
endif()
add_dependencies(berth_engine_tests berth-cli berth-monitor berth-init)
gtest_discover_tests(berth_engine_tests PROPERTIES LABELS engine FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60 TIMEOUT 300)

# --isolation=vm through the engine: label vm (slow under TCG), one VM test at a time.
add_executable(berth_engine_vm_tests engine/engine_vm_test.cc engine/engine_fixture.cc
  vm/vm_env.cc)
target_link_libraries(berth_engine_vm_tests PRIVATE berth_vm berth_test_support
  GTest::gtest_main)
target_include_directories(berth_engine_vm_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(berth_engine_vm_tests PRIVATE BERTH_CLI_BIN="$<TARGET_FILE:berth-cli>")
add_dependencies(berth_engine_vm_tests berth-cli berth-monitor berth-init)
gtest_discover_tests(berth_engine_vm_tests PROPERTIES LABELS vm FIXTURES_REQUIRED suite
  RESOURCE_LOCK vm DISCOVERY_TIMEOUT 60 TIMEOUT 300)
