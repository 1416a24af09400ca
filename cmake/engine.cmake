# The engine (src/engine): container records, the monitor, specs from images, volumes, logs.
# berth-monitor (one per detached container) is small and static: it links only the runtime
# core, the VM handler and the monitor's own files, not SQLite, libcurl or netlink.

set(BERTH_MONITOR_SOURCES src/engine/monitor.cc src/engine/logs.cc src/engine/run_options.cc
  src/engine/engine_exit.cc)
file(GLOB BERTH_ENGINE_SOURCES CONFIGURE_DEPENDS src/engine/*.cc)
list(TRANSFORM BERTH_ENGINE_SOURCES REPLACE "^${PROJECT_SOURCE_DIR}/" "")
list(REMOVE_ITEM BERTH_ENGINE_SOURCES ${BERTH_MONITOR_SOURCES})
# The monitor's files are compiled once and used by both berth_engine and berth-monitor.
# The monitor runs VM containers too (--isolation=vm), so it links the VM handler.
add_library(berth_monitor_objs OBJECT ${BERTH_MONITOR_SOURCES})
target_link_libraries(berth_monitor_objs PUBLIC berth berth_vm)
berth_pch(berth_monitor_objs)
set(BERTH_SECCOMP_PROFILE ${PROJECT_SOURCE_DIR}/src/engine/data/seccomp_default.json)
set_source_files_properties(src/engine/seccomp_blob.S PROPERTIES
  OBJECT_DEPENDS ${BERTH_SECCOMP_PROFILE}
  COMPILE_DEFINITIONS "BERTH_SECCOMP_PROFILE=\"${BERTH_SECCOMP_PROFILE}\"")
add_library(berth_engine STATIC ${BERTH_ENGINE_SOURCES} src/engine/seccomp_blob.S
  $<TARGET_OBJECTS:berth_monitor_objs>)
berth_pch(berth_engine)
target_link_libraries(berth_engine PUBLIC berth berth_vm)
foreach(lib berth_image berth_net)
  if(TARGET ${lib})
    target_link_libraries(berth_engine PUBLIC ${lib})
  endif()
endforeach()

berth_binary(berth-monitor cmd/berth-monitor/main.cc $<TARGET_OBJECTS:berth_monitor_objs>)
target_link_libraries(berth-monitor PRIVATE berth_vm)

# --init's PID 1: freestanding, static, a few KB.
add_executable(berth-init cmd/berth-init/init.c)
target_compile_options(berth-init PRIVATE -Os -ffreestanding -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-builtin -fno-sanitize=all -fno-pie)
target_link_options(berth-init PRIVATE -static -nostdlib -nostartfiles -no-pie
  -Wl,--build-id=none -fno-sanitize=all)
