// berth-runtime: the OCI runtime binary (a drop-in for runc). All logic is in src/.
#include "base/huge_heap.h"
#include "cli/runtime/app.h"

int main(int argc, char** argv) {
  berth::heap::use_huge_pages(size_t{4} << 20);  // base/huge_heap.h
  return berth::cli::run_runtime_cli(argc, argv);
}
