// Object checks: the lab's API objects as `kn-lab get` shows them (src/kube), a field read with
// kubectl's JSONPath, a list counted by a label selector, or an object that must be gone.
#include <fmt/core.h>

#include "check/attempt.hpp"
#include "core/text.hpp"
#include "kube/objects.hpp"
#include "kube/selector.hpp"
#include "views/jsonpath.hpp"

namespace knlab::check {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<Attempt> compare_field(const Json& obj, const CheckSpec& c, const std::string& what) {
  if (c.field.empty()) return Attempt{true, fmt::format("{} exists", what)};
  views::JsonPath path = KN_TRY(views::JsonPath::parse(c.field, fmt::format("field of check {}", c.name)));
  std::string got = trimmed(KN_TRY(path.execute(obj)));
  if (c.equals && got != *c.equals) return Attempt{false, fmt::format("{} {} is \"{}\", not \"{}\"", what, c.field, got, *c.equals)};
  if (!c.contains.empty() && got.find(c.contains) == std::string::npos)
    return Attempt{false, fmt::format("{} {} is \"{}\", without \"{}\"", what, c.field, got, c.contains)};
  return Attempt{true, fmt::format("{} {} is \"{}\"", what, c.field, got)};
}

Result<Attempt> one_object(const LabView& view, const CheckSpec& c, const KindInfo& kind, const std::string& name) {
  std::string what = fmt::format("{}/{}", lower(std::string(kind.kind)), name);
  if (kind.namespaced) what += fmt::format(" ({})", c.ns);
  std::optional<Json> obj = find_object(view, kind.id, kind.namespaced ? c.ns : "", name);
  if (c.absent) return obj ? Attempt{false, what + " still exists"} : Attempt{true, what + " is gone"};
  if (!obj) return Attempt{false, what + " does not exist"};
  return compare_field(*obj, c, what);
}

Result<Attempt> object_list(const LabView& view, const CheckSpec& c, const KindInfo& kind) {
  Selector sel = KN_TRY(Selector::parse(c.selector));
  std::vector<Json> items;
  for (Json& o : objects_of(view, kind.id)) {
    if (kind.namespaced && o["metadata"].value("namespace", "default") != c.ns) continue;
    if (sel.matches(o["metadata"].value("labels", Json::object()))) items.push_back(std::move(o));
  }
  std::string what = fmt::format("{}{}{}", kind.plural, c.selector.empty() ? "" : " -l " + c.selector, kind.namespaced ? " in " + c.ns : "");
  if (c.absent) return items.empty() ? Attempt{true, fmt::format("no {}", what)} : Attempt{false, fmt::format("{} {} still exist", items.size(), what)};
  if (c.count && static_cast<int>(items.size()) != *c.count) return Attempt{false, fmt::format("{} {}, not {}", items.size(), what, *c.count)};
  if (c.field.empty()) return Attempt{true, fmt::format("{} {}", items.size(), what)};
  Json list = {{"kind", "List"}, {"items", items}};
  return compare_field(list, c, what);
}

Result<Attempt> object(const LabView& view, const CheckSpec& c) {
  auto slash = c.object.find('/');
  std::string type = c.object.substr(0, slash);
  const KindInfo* kind = find_kind(type);
  if (!kind) return fail(input_error(c.where, fmt::format("the server doesn't have a resource type \"{}\"", type)));
  if (slash == std::string::npos) return object_list(view, c, *kind);
  return one_object(view, c, *kind, c.object.substr(slash + 1));
}

}  // namespace

Attempt object_attempt(const LabView& view, const CheckSpec& c) {
  auto a = object(view, c);
  if (!a) return {false, a.error().format()};
  return *a;
}

}  // namespace knlab::check
