# The engine (src/engine): container records, the monitor, specs from images, volumes, logs.
# berth-monitor (one per detached container) is small and static: it links only the runtime
# core and the monitor's own files, not SQLite, libcurl or netlink.
find_package(PkgConfig REQUIRED)
pkg_check_modules(BERTH_ENGINE_SQLITE REQUIRED IMPORTED_TARGET sqlite3)

set(BERTH_MONITOR_SOURCES src/engine/monitor.cc src/engine/logs.cc src/engine/run_options.cc
  src/engine/engine_exit.cc)
file(GLOB BERTH_ENGINE_SOURCES CONFIGURE_DEPENDS src/engine/*.cc)
set(BERTH_SECCOMP_PROFILE ${PROJECT_SOURCE_DIR}/src/engine/data/seccomp_default.json)
set_source_files_properties(src/engine/seccomp_blob.S PROPERTIES
  OBJECT_DEPENDS ${BERTH_SECCOMP_PROFILE}
  COMPILE_DEFINITIONS "BERTH_SECCOMP_PROFILE=\"${BERTH_SECCOMP_PROFILE}\"")
add_library(berth_engine STATIC ${BERTH_ENGINE_SOURCES} src/engine/seccomp_blob.S)
target_link_libraries(berth_engine PUBLIC berth)
foreach(lib berth_image berth_net)
  if(TARGET ${lib})
    target_link_libraries(berth_engine PUBLIC ${lib})
  endif()
endforeach()

berth_binary(berth-monitor cmd/berth-monitor/main.cc ${BERTH_MONITOR_SOURCES})

# --init's PID 1: freestanding, static, a few KB.
add_executable(berth-init cmd/berth-init/init.c)
target_compile_options(berth-init PRIVATE -Os -ffreestanding -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-builtin -fno-sanitize=all -fno-pie)
target_link_options(berth-init PRIVATE -static -nostdlib -nostartfiles -no-pie
  -Wl,--build-id=none -fno-sanitize=all)
