// Result<T> = std::expected<T, Error>, and the TRY macros that propagate errors.
#pragma once

#include <expected>

#include "base/error.h"

namespace berth {

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace berth

// Evaluates a Result expression; returns its error from the enclosing function, else yields
// the value (GNU statement expression). For Result<void> use BERTH_CHECK.
#define BERTH_TRY(expr)                                                             \
  ({                                                                                \
    auto&& berth_try_r_ = (expr);                                                   \
    if (!berth_try_r_) return ::std::unexpected(::std::move(berth_try_r_.error())); \
    ::std::move(*berth_try_r_);                                                     \
  })

#define BERTH_CHECK(expr)                                                               \
  do {                                                                                  \
    auto&& berth_check_r_ = (expr);                                                     \
    if (!berth_check_r_) return ::std::unexpected(::std::move(berth_check_r_.error())); \
  } while (0)

// Like BERTH_CHECK but adds context to the error on the way up.
#define BERTH_CHECK_CTX(expr, ...)                                               \
  do {                                                                           \
    auto&& berth_check_r_ = (expr);                                              \
    if (!berth_check_r_)                                                         \
      return ::std::unexpected(                                                  \
          ::std::move(berth_check_r_.error()).wrap(::fmt::format(__VA_ARGS__))); \
  } while (0)
