// Lenient JSON parsing for untrusted text where a parse error is an ordinary outcome: never
// throws (nlohmann's no-exception mode still throws on some number overflows).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/result.h"
#include "oci/json_read.h"

namespace berth::image {

// The parsed value, or a discarded value (is_discarded()) for any error.
inline nlohmann::json parse_json(std::string_view text) {
  try {
    return nlohmann::json::parse(text, nullptr, false);
  } catch (const std::exception&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

// oci::jr::parse_with, also turning the exceptions its first parse lets through (numbers that
// overflow a double) into an error.
template <typename F>
auto parse_untrusted(std::string_view text, std::string_view what, F&& read)
    -> decltype(oci::jr::parse_with(text, what, std::forward<F>(read))) {
  try {
    return oci::jr::parse_with(text, what, std::forward<F>(read));
  } catch (const std::exception& e) {
    return fail(invalid("{}: not valid JSON ({})", what, e.what()));
  }
}

}  // namespace berth::image
