// berth: the user's command line. All logic is in src/.
#include "cli/berth/app.h"

int main(int argc, char** argv) { return berth::cli::run_berth_cli(argc, argv); }
