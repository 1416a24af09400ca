# Image and registry tests. Unit tests (label unit) are pure functions and temp-dir stores;
# integration tests (label image) run Debian's docker-registry on 127.0.0.1, skopeo and podman.
file(GLOB IMAGE_UNIT_TESTS CONFIGURE_DEPENDS image/unit/*_test.cc)
add_executable(berth_image_unit_tests ${IMAGE_UNIT_TESTS} image/support/image_support.cc)
target_link_libraries(berth_image_unit_tests PRIVATE berth_image berth_test_support
  GTest::gtest_main)
target_include_directories(berth_image_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(berth_image_unit_tests PRIVATE
  BERTH_IMAGE_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
gtest_discover_tests(berth_image_unit_tests PROPERTIES LABELS unit FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60)

file(GLOB IMAGE_TESTS CONFIGURE_DEPENDS image/*_test.cc)
add_executable(berth_image_tests ${IMAGE_TESTS} image/support/image_support.cc
  image/support/registry_fixture.cc)
# OpenSSL makes the test registry's TLS certificate (berth itself does not use it).
pkg_check_modules(BERTH_TEST_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
target_link_libraries(berth_image_tests PRIVATE berth_image berth_test_support GTest::gtest_main
  PkgConfig::BERTH_TEST_CRYPTO)
target_include_directories(berth_image_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(berth_image_tests PRIVATE
  BERTH_CLI_BIN="$<TARGET_FILE:berth-cli>"
  BERTH_IMAGE_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
add_dependencies(berth_image_tests berth-cli)
gtest_discover_tests(berth_image_tests PROPERTIES LABELS image FIXTURES_REQUIRED suite
  DISCOVERY_TIMEOUT 60)
