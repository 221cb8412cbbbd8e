#include "cli/labels.hpp"

#include <fmt/core.h>

#include "core/text.hpp"
#include "lab/names.hpp"

namespace knlab {

namespace {

Status check_pair(std::string_view key, std::string_view value, bool label, std::string_view where) {
  if (!valid_label_key(key))
    return fail(input_error(SourceLocation{std::string(where), 0, 0}, fmt::format("invalid label key \"{}\"", key),
                            "a key is [prefix/]name: a name of at most 63 characters [A-Za-z0-9_.-], an optional DNS prefix"));
  if (label && !valid_label_part(value, true))
    return fail(input_error(SourceLocation{std::string(where), 0, 0}, fmt::format("invalid label value \"{}\" of {}", value, key),
                            "a label value is empty or at most 63 characters [A-Za-z0-9_.-], starting and ending with a letter or digit"));
  return {};
}

}  // namespace

Result<StringMap> parse_label_map(std::string_view text, std::string_view option) {
  StringMap out;
  for (std::string_view item : split(text, ',')) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return fail(input_error(SourceLocation{std::string(option), 0, 0}, fmt::format("\"{}\" is not KEY=VALUE", item),
                              fmt::format("{}=app=web,tier=front", option)));
    std::string key(item.substr(0, eq)), value(item.substr(eq + 1));
    KN_TRY(check_pair(key, value, true, option));
    out[key] = value;
  }
  return out;
}

Result<MapEdit> parse_map_edit(const std::vector<std::string>& args, bool labels) {
  MapEdit edit;
  std::string_view what = labels ? "label" : "annotation";
  for (const std::string& a : args) {
    auto eq = a.find('=');
    if (eq == std::string::npos && !a.empty() && a.back() == '-') {
      std::string key = a.substr(0, a.size() - 1);
      KN_TRY(check_pair(key, "", labels, what));
      edit.remove.push_back(key);
      continue;
    }
    if (eq == std::string::npos)
      return fail(input_error(SourceLocation{}, fmt::format("\"{}\" is not a {} change", a, what),
                              fmt::format("KEY=VALUE sets a {0}, KEY- removes it", what)));
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    KN_TRY(check_pair(key, value, labels, what));
    edit.set[key] = value;
  }
  if (edit.empty())
    return fail(input_error(SourceLocation{}, fmt::format("at least one {} update is required", what), "KEY=VALUE or KEY-"));
  return edit;
}

Result<bool> apply_map_edit(StringMap& map, const MapEdit& edit, bool overwrite) {
  bool changed = false;
  for (auto& [k, v] : edit.set) {
    auto it = map.find(k);
    if (it != map.end() && it->second != v && !overwrite)
      return fail(input_error(SourceLocation{}, fmt::format("'{}' already has a value ({}), and --overwrite is false", k, it->second),
                              "give --overwrite to change it"));
    changed |= it == map.end() || it->second != v;
    map[k] = v;
  }
  for (const std::string& k : edit.remove) changed |= map.erase(k) > 0;
  return changed;
}

}  // namespace knlab
