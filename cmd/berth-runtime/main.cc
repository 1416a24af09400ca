// berth-runtime: the OCI runtime binary (a drop-in for runc). All logic is in src/.
#include "cli/runtime/app.h"

int main(int argc, char** argv) { return berth::cli::run_runtime_cli(argc, argv); }
