// {fmt}'s non-inline part, compiled once for the whole project.
//
// Debian ships {fmt} as headers plus a shared library only; berth-runtime and berth-monitor
// are static, so they cannot use libfmt.so. Defining FMT_HEADER_ONLY instead made every
// translation unit compile the formatting core again (about a third of each file's build
// time). This file is that core, instantiated for char, in berth's own archive.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
#ifndef FMT_STATIC_THOUSANDS_SEPARATOR  // berth-agent: no std::locale (cmake/vm.cmake)
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
#endif
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void buffer<char>::append(const char*, const char*);
template void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                         locale_ref);

}  // namespace detail
FMT_END_NAMESPACE
