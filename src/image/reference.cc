#include "image/reference.h"

#include "base/strings.h"

namespace berth::image {
namespace {

constexpr size_t kMaxName = 255;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool valid_host_label(std::string_view l) {
  if (l.empty() || l.front() == '-' || l.back() == '-') return false;
  for (char c : l)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty()) return false;
  std::string_view host = d;
  if (d.front() == '[') {  // [ipv6]:port
    size_t close = d.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : d.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    return parse_uint(rest.substr(1)).value_or(70000) <= 65535;
  }
  size_t colon = d.rfind(':');
  if (colon != std::string_view::npos) {
    auto port = parse_uint(d.substr(colon + 1));
    if (!port || *port > 65535 || d.substr(colon + 1).empty()) return false;
    host = d.substr(0, colon);
  }
  for (const auto& l : split(host, '.'))
    if (!valid_host_label(l)) return false;
  return true;
}

bool looks_like_domain(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost" || (!first.empty() && first.front() == '[');
}

}  // namespace

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag)
    if (!(word(c) || c == '.' || c == '-')) return false;
  return true;
}

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest.str();
  return s;
}

std::string Reference::familiar() const {
  std::string s = registry == kDockerHub ? repository : name();
  if (registry == kDockerHub && s.rfind("library/", 0) == 0) s = s.substr(8);
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest.str();
  return s;
}

std::string Reference::record_key() const {
  return tag.empty() ? name() + "@" + digest.str() : name() + ":" + tag;
}

Result<Reference> parse_repository(std::string_view s, std::string_view default_registry) {
  std::string shown(s.substr(0, 300));
  if (s.empty()) return fail(invalid("image reference is empty"));
  if (s.size() > 512) return fail(invalid("image reference {:?}...: too long", shown));
  Reference r;
  std::string_view rest = s;
  size_t slash = s.find('/');
  if (slash != std::string_view::npos && looks_like_domain(s.substr(0, slash))) {
    r.registry = std::string(s.substr(0, slash));
    rest = s.substr(slash + 1);
  } else {
    r.registry = std::string(default_registry);
  }
  if (r.registry == "index.docker.io" || r.registry == "registry-1.docker.io")
    r.registry = kDockerHub;
  if (!valid_domain(r.registry))
    return fail(invalid("image reference {:?}: invalid registry {:?}", shown, r.registry));
  std::vector<std::string> parts = split(rest, '/');
  for (const auto& p : parts) {
    if (!valid_component(p))
      return fail(invalid(
          "image reference {:?}: invalid repository component {:?} (lowercase letters, digits "
          "and separators . _ __ - only)",
          shown, p));
  }
  r.repository = std::string(rest);
  if (r.registry == kDockerHub && parts.size() == 1) r.repository = "library/" + r.repository;
  if (r.name().size() > kMaxName)
    return fail(invalid("image reference {:?}: name longer than {} characters", shown, kMaxName));
  return r;
}

Result<Reference> parse_reference(std::string_view s, std::string_view default_registry) {
  std::string shown(s.substr(0, 300));
  std::string_view name = s;
  Digest digest;
  std::string tag;
  size_t at = s.find('@');
  if (at != std::string_view::npos) {
    auto d = Digest::parse(s.substr(at + 1));
    if (!d) return fail(std::move(d.error()).wrap(fmt::format("image reference {:?}", shown)));
    digest = *d;
    name = s.substr(0, at);
  }
  size_t last_slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (!valid_tag(tag)) return fail(invalid("image reference {:?}: invalid tag {:?}", shown, tag));
  }
  Reference r = BERTH_TRY(parse_repository(name, default_registry));
  r.tag = tag;
  r.digest = digest;
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace berth::image
