#include "views/describe.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "views/printers.hpp"

namespace knlab::views {

namespace {

// Label and annotation maps: "key=value" lines under one column, <none> when empty.
std::string map_lines(const Json& m, std::size_t column) {
  if (!m.is_object() || m.empty()) return "<none>\n";
  std::string out;
  bool first = true;
  for (auto& [k, v] : m.items()) {
    out += fmt::format("{}{}={}\n", first ? "" : std::string(column, ' '), k, v.is_string() ? v.get<std::string>() : v.dump());
    first = false;
  }
  return out;
}

std::string scalar(const Json& v) { return v.is_string() ? v.get<std::string>() : go_sprint(v); }

void nested(std::string& out, const Json& value, int indent);

// One field; scalars are padded to `width` so that the values of a block line up, as
// kubectl's tabwriter does.
void field(std::string& out, const std::string& key, const Json& value, int indent, std::size_t width = 0) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  if (value.is_object() || (value.is_array() && !value.empty() && (value.front().is_object() || value.front().is_array()))) {
    out += fmt::format("{}{}:\n", pad, title_case(key));
    nested(out, value, indent + 2);
  } else if (value.is_array()) {
    out += fmt::format("{}{}:\n", pad, title_case(key));
    for (const Json& item : value) out += fmt::format("{}  {}\n", pad, scalar(item));
  } else {
    out += fmt::format("{}{:<{}}  {}\n", pad, title_case(key) + ":", width, scalar(value));
  }
}

void nested(std::string& out, const Json& value, int indent) {
  if (value.is_object()) {
    std::size_t width = 0;
    for (auto& [k, v] : value.items())
      if (!v.is_object() && !v.is_array()) width = std::max(width, title_case(k).size() + 1);
    for (auto& [k, v] : value.items()) field(out, k, v, indent, width);
    return;
  }
  for (const Json& item : value) nested(out, item, indent);
}

}  // namespace

std::string title_case(const std::string& f) {
  std::string out;
  for (std::size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(f[i - 1]));
    bool next_lower = i + 1 < f.size() && std::islower(static_cast<unsigned char>(f[i + 1]));
    bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(f[i - 1]));
    if (i > 0 && upper && (prev_lower || (prev_upper && next_lower))) out += ' ';
    out += i == 0 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
  }
  return out;
}

std::string describe_generic(const Json& o) {
  const Json md = o.value("metadata", Json::object());
  std::string out;
  out += fmt::format("Name:         {}\n", md.value("name", ""));
  if (md.contains("namespace")) out += fmt::format("Namespace:    {}\n", md.value("namespace", ""));
  out += "Labels:       " + map_lines(md.value("labels", Json::object()), 14);
  out += "Annotations:  " + map_lines(md.value("annotations", Json::object()), 14);
  out += fmt::format("API Version:  {}\nKind:         {}\n", o.value("apiVersion", ""), o.value("kind", ""));
  Json rest = md;
  for (const char* k : {"name", "namespace", "labels", "annotations"}) rest.erase(k);
  if (!rest.empty()) field(out, "metadata", rest, 0);
  for (auto& [k, v] : o.items())
    if (k != "apiVersion" && k != "kind" && k != "metadata") field(out, k, v, 0);
  out += "Events:       <none>\n";
  return out;
}

}  // namespace knlab::views
