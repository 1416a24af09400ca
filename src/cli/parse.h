// What berth and berth-runtime do alike with their command lines.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

namespace berth::cli {

// Repeatable options (-e, -v, -p ...) take one value per use, never the words after it; on
// `a` and every subcommand under it.
inline void one_value_per_use(CLI::App* a) {
  for (CLI::Option* o : a->get_options())
    if (!o->get_positional()) o->allow_extra_args(false);
  for (CLI::App* s : a->get_subcommands({})) one_value_per_use(s);
}

// Parses argv with one value per use. On --help or --version: prints it and returns 0; on a
// bad command line: prints "<program>: <why>" and returns bad_exit; otherwise nullopt.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             const char* program, int bad_exit) {
  one_value_per_use(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fprintf(stderr, "%s: %s\n", program, e.what());
    return bad_exit;
  }
  return std::nullopt;
}

}  // namespace berth::cli
