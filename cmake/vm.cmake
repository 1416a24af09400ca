# VM isolation (issue 7): the guest agent and the berth_vm library.

# berth-agent: /init of the guest's initramfs. Static and never sanitized (it runs as pid 1
# in the guest), so it is compiled from its own sources plus the base helpers it uses rather
# than linked against the (maybe sanitized) berth library.
file(GLOB BERTH_AGENT_SOURCES CONFIGURE_DEPENDS src/vm/agent/*.cc)
add_executable(berth-agent cmd/berth-agent/main.cc ${BERTH_AGENT_SOURCES}
  src/vm/protocol.cc src/base/error.cc src/base/file.cc src/base/log.cc src/base/path.cc
  src/base/strings.cc src/base/fmt_lib.cc)
target_include_directories(berth-agent PRIVATE src)
target_compile_options(berth-agent PRIVATE -Os -fno-sanitize=all)
# No std::locale in the agent: {fmt}'s locale support alone pulled in libstdc++'s whole
# locale machinery (~1 MB of the static binary, which the guest kernel unpacks at ~80 MB/s
# under TCG and the agent then faults in).
target_compile_definitions(berth-agent PRIVATE FMT_STATIC_THOUSANDS_SEPARATOR=',')
target_link_options(berth-agent PRIVATE -static -fno-sanitize=all -Wl,--gc-sections -s)
set_target_properties(berth-agent PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/agent)

# berth_vm: the VM handler, linked into berth-runtime (statically) and berth. It embeds the
# agent binary (src/vm/agent_blob.S).
# The agent's SHA-256 is computed here, at build time, and embedded beside it: the initramfs
# cache key needs it on every VM start, and hashing 0.9 MB there cost ~1-2 ms of each run.
file(GLOB BERTH_VM_SOURCES CONFIGURE_DEPENDS src/vm/*.cc)
set(BERTH_AGENT_BIN ${CMAKE_BINARY_DIR}/agent/berth-agent)
set(BERTH_AGENT_DIGEST ${CMAKE_BINARY_DIR}/agent/berth-agent.sha256)
add_custom_command(OUTPUT ${BERTH_AGENT_DIGEST}
  COMMAND ${CMAKE_COMMAND} -DIN=${BERTH_AGENT_BIN} -DOUT=${BERTH_AGENT_DIGEST}
          -P ${CMAKE_SOURCE_DIR}/cmake/digest.cmake
  DEPENDS berth-agent ${BERTH_AGENT_BIN} ${CMAKE_SOURCE_DIR}/cmake/digest.cmake
  VERBATIM)
add_library(berth_vm STATIC ${BERTH_VM_SOURCES} src/vm/agent_blob.S ${BERTH_AGENT_DIGEST})
set_source_files_properties(${BERTH_AGENT_DIGEST} PROPERTIES HEADER_FILE_ONLY TRUE)
set_source_files_properties(src/vm/agent_blob.S PROPERTIES
  OBJECT_DEPENDS "${BERTH_AGENT_BIN};${BERTH_AGENT_DIGEST}"
  COMPILE_DEFINITIONS "BERTH_AGENT_PATH=\"${BERTH_AGENT_BIN}\";BERTH_AGENT_DIGEST=\"${BERTH_AGENT_DIGEST}\"")
add_dependencies(berth_vm berth-agent)
target_link_libraries(berth_vm PUBLIC berth)
berth_pch(berth_vm)
