#include "kube/selector.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/text.hpp"
#include "lab/names.hpp"

namespace knlab {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Error bad(std::string_view text, std::string what) {
  return input_error(SourceLocation{"-l/--selector", 0, 0}, fmt::format("unable to parse requirement \"{}\": {}", text, what),
                     "like app=web, tier!=db, env in (prod,dev), !canary");
}

// The requirements, split at the commas outside parentheses.
std::vector<std::string_view> parts(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')') --depth;
    if (s[i] == ',' && depth == 0) out.push_back(s.substr(start, i - start)), start = i + 1;
  }
  out.push_back(s.substr(start));
  return out;
}

Result<Selector::Requirement> set_based(std::string_view p, std::size_t at, std::size_t len, Selector::Op op) {
  std::string key(trim(p.substr(0, at)));
  std::string_view rest = trim(p.substr(at + len));
  if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') return fail(bad(p, "the values go in parentheses: key in (a,b)"));
  Selector::Requirement r{key, op, {}};
  for (auto v : parts(rest.substr(1, rest.size() - 2))) r.values.emplace_back(trim(v));
  return r;
}

Result<Selector::Requirement> requirement(std::string_view p) {
  using Op = Selector::Op;
  if (auto at = p.find(" notin "); at != std::string_view::npos) return set_based(p, at, 7, Op::kNotIn);
  if (auto at = p.find(" in "); at != std::string_view::npos) return set_based(p, at, 4, Op::kIn);
  if (auto at = p.find("!="); at != std::string_view::npos)
    return Selector::Requirement{std::string(trim(p.substr(0, at))), Op::kNotIn, {std::string(trim(p.substr(at + 2)))}};
  if (auto at = p.find('='); at != std::string_view::npos) {
    std::size_t len = p.substr(at).starts_with("==") ? 2 : 1;
    return Selector::Requirement{std::string(trim(p.substr(0, at))), Op::kIn, {std::string(trim(p.substr(at + len)))}};
  }
  if (p.starts_with('!')) return Selector::Requirement{std::string(trim(p.substr(1))), Op::kDoesNotExist, {}};
  return Selector::Requirement{std::string(p), Op::kExists, {}};
}

}  // namespace

Result<Selector> Selector::parse(std::string_view text) {
  Selector s;
  if (trim(text).empty()) return s;
  for (std::string_view raw : parts(text)) {
    std::string_view p = trim(raw);
    if (p.empty()) return fail(bad(text, "an empty requirement"));
    Requirement r = KN_TRY(requirement(p));
    if (!valid_label_key(r.key)) return fail(bad(p, fmt::format("\"{}\" is not a valid label key", r.key)));
    for (const std::string& v : r.values)
      if (!valid_label_part(v, true)) return fail(bad(p, fmt::format("\"{}\" is not a valid label value", v)));
    s.sel_.requirements.push_back(std::move(r));
  }
  return s;
}

bool Selector::matches(const Json& labels) const {
  return std::all_of(sel_.requirements.begin(), sel_.requirements.end(), [&](const Requirement& r) {
    bool has = labels.is_object() && labels.contains(r.key);
    return requirement_holds(r, has, has ? labels[r.key].get<std::string>() : std::string());
  });
}

namespace {

std::vector<std::string_view> selectable_fields(std::string_view kind) {
  std::vector<std::string_view> out = {"metadata.name", "metadata.namespace"};
  if (kind == "Pod") out.insert(out.end(), {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP", "status.hostIP"});
  if (kind == "Service") out.insert(out.end(), {"spec.type", "spec.clusterIP"});
  if (kind == "Secret") out.push_back("type");
  if (kind == "Namespace") out.push_back("status.phase");
  return out;
}

std::string field_text(const Json& object, std::string_view field) {
  const Json* at = &object;
  for (std::string_view part : split(field, '.')) {
    if (!at->is_object() || !at->contains(std::string(part))) return "";
    at = &(*at)[std::string(part)];
  }
  return at->is_string() ? at->get<std::string>() : at->is_null() ? "" : at->dump();
}

}  // namespace

Result<FieldSelector> FieldSelector::parse(std::string_view text, std::string_view kind) {
  FieldSelector out;
  if (trim(text).empty()) return out;
  for (std::string_view p : split(text, ',')) {
    std::size_t at = p.find("!=");
    bool equal = at == std::string_view::npos;
    if (equal) at = p.find('=');
    if (at == std::string_view::npos)
      return fail(input_error(SourceLocation{"--field-selector", 0, 0}, fmt::format("invalid selector: '{}'; can't understand '{}'", text, p),
                              "like status.phase=Running or spec.nodeName!=node1"));
    std::size_t skip = !equal || (p.size() > at + 1 && p[at + 1] == '=') ? 2 : 1;
    std::string field(trim(p.substr(0, at)));
    std::vector<std::string_view> fields = selectable_fields(kind);
    if (std::find(fields.begin(), fields.end(), field) == fields.end())
      return fail(input_error(SourceLocation{"--field-selector", 0, 0}, fmt::format("field label not supported: {}", field),
                              fmt::format("fields of {}: {}", kind, join(fields, ", "))));
    out.reqs_.push_back({field, equal, std::string(trim(p.substr(at + skip)))});
  }
  return out;
}

bool FieldSelector::matches(const Json& object) const {
  return std::all_of(reqs_.begin(), reqs_.end(), [&](const Requirement& r) { return (field_text(object, r.field) == r.value) == r.equal; });
}

}  // namespace knlab
