// berth: the user's command line. All logic is in src/.
#include <cstring>

#include "base/huge_heap.h"
#include "base/static/entry.h"
#include "base/trace.h"
#include "cli/berth/app.h"

namespace {
// Before any constructor (base/huge_heap.h), where berth_entry (base/static/entry.h) has not
// mapped these pages already.
void populate() {
  if (&berth_entry_prefaulted != nullptr && berth_entry_prefaulted != 0) return;
  berth::heap::populate_startup_pages(BERTH_ENTRY_STACK_BYTES);
}
[[gnu::used, gnu::section(".preinit_array")]] void (*const g_populate)() = populate;
}  // namespace

int main(int argc, char** argv) {
  berth::trace::mark("main");
  // Short-lived commands: their heap on huge pages (base/huge_heap.h). The DNS responder
  // lives as long as its network and stays on small pages.
  bool daemon = false;
  for (int i = 1; i < argc; ++i) daemon = daemon || std::strcmp(argv[i], "dns-serve") == 0;
  if (!daemon) berth::heap::use_huge_pages(size_t{4} << 20);
  berth::trace::mark("heap");
  int rc = berth::cli::run_berth_cli(argc, argv);
  berth::trace::mark("main: returning");
  return rc;
}
