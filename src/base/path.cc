#include "base/path.h"

#include <vector>

namespace berth::path {

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (b.empty()) return out;
  if (out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

std::string clean(std::string_view p) {
  bool abs = !p.empty() && p.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    if (c.empty() || c == ".") {
      // skip
    } else if (c == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!abs) {
        parts.push_back(c);
      }
    } else {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out = abs ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out.push_back('/');
    out.append(parts[k]);
  }
  if (out.empty()) out.push_back('.');  // not `= "."`: g++ 12 warns falsely on that
  return out;
}

std::string dirname(std::string_view p) {
  std::string c = clean(p);
  size_t pos = c.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return c.substr(0, pos);
}

std::string basename(std::string_view p) {
  std::string c = clean(p);
  if (c == "/") return "/";
  size_t pos = c.rfind('/');
  return pos == std::string::npos ? c : c.substr(pos + 1);
}

bool is_absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

bool is_within(std::string_view parent, std::string_view child) {
  std::string pa = clean(parent), ch = clean(child);
  if (pa == "/") return is_absolute(ch);
  if (ch.size() < pa.size() || ch.compare(0, pa.size(), pa) != 0) return false;
  return ch.size() == pa.size() || ch[pa.size()] == '/';
}

}  // namespace berth::path
