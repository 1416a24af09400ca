// berth-runtime: the OCI runtime binary (a drop-in for runc). All logic is in src/.
#include "base/huge_heap.h"
#include "cli/runtime/app.h"

namespace {
// Before any constructor (base/huge_heap.h): a create writes ~96 KiB of stack.
void populate() { berth::heap::populate_startup_pages(size_t{96} << 10); }
[[gnu::used, gnu::section(".preinit_array")]] void (*const g_populate)() = populate;
}  // namespace

int main(int argc, char** argv) {
  berth::heap::use_huge_pages(size_t{4} << 20);  // base/huge_heap.h
  return berth::cli::run_runtime_cli(argc, argv);
}
