#include "lab/names.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <vector>

namespace knlab {

std::optional<std::string> check_label(std::string_view name, std::size_t max_length) {
  if (name.empty()) return "must not be empty";
  if (name.size() > max_length)
    return fmt::format("is {} characters long, at most {} are allowed", name.size(), max_length);
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      if (c == '/' || c == '.' || c == ' ')
        return fmt::format("must not contain '{}'", c);
      if (c >= 'A' && c <= 'Z') return "must be lowercase";
      if (c > ' ' && c < 127) return fmt::format("must not contain '{}'", c);
      return fmt::format("must not contain the byte 0x{:02x}", static_cast<unsigned char>(c));
    }
  }
  if (name.front() == '-' || name.back() == '-') return "must start and end with a letter or digit";
  return std::nullopt;
}

bool is_reserved_name(std::string_view name) {
  static constexpr std::array<std::string_view, 5> kReserved = {"wire", "external", "router",
                                                                 "cloud-lb", "host"};
  return std::find(kReserved.begin(), kReserved.end(), name) != kReserved.end();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace knlab
