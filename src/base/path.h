// Lexical path helpers (no file system access).
#pragma once

#include <string>
#include <string_view>

namespace berth::path {

// Joins a and b with one '/'; b absolute is treated as relative to a.
std::string join(std::string_view a, std::string_view b);
// Lexically cleans p: collapses "//", removes "." and resolves ".." (never above the root for
// absolute paths). An empty result becomes ".".
std::string clean(std::string_view p);
std::string dirname(std::string_view p);
std::string basename(std::string_view p);
bool is_absolute(std::string_view p);
// True when child (cleaned, absolute) equals parent or lies below it.
bool is_within(std::string_view parent, std::string_view child);

}  // namespace berth::path
