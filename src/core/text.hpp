// Small text helpers shared by every layer.
#pragma once

#include <string>
#include <string_view>

namespace knlab {

// "a, b, c": the items of any range of strings, with `sep` between them.
template <class Range>
std::string join(const Range& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += std::string_view(item);
  }
  return out;
}

// ASCII lowercase (kinds, header names; never locale-dependent).
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace knlab
