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

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  };
  std::string_view best;
  std::size_t best_d = 3;
  for (auto c : candidates) {
    std::size_t d = std::min(edit_distance(word, c), edit_distance(lower(word), lower(c)));
    if (d < best_d) best = c, best_d = d;
  }
  return best.empty() ? std::string{} : "did you mean '" + std::string(best) + "'? ";
}

bool valid_label_part(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool valid_label_key(std::string_view k) {
  auto slash = k.find('/');
  if (slash == std::string_view::npos) return valid_label_part(k, false);
  auto prefix = k.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  return valid_label_part(k.substr(slash + 1), false) && std::all_of(prefix.begin(), prefix.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
         });
}

bool valid_image(std::string_view image) {
  return !image.empty() && image.size() <= 255 && std::all_of(image.begin(), image.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || std::string_view("./:_-@").find(c) != std::string_view::npos;
         });
}

bool valid_env_name(std::string_view k) {
  if (k.empty() || (k.front() >= '0' && k.front() <= '9')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace knlab
