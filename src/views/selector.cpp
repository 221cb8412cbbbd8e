#include "views/selector.hpp"

namespace knlab::views {

LabelSelector label_selector_of(const Json& selector) {
  LabelSelector out;
  if (!selector.is_object()) return out;
  if (auto m = selector.find("matchLabels"); m != selector.end() && m->is_object())
    for (auto& [k, v] : m->items()) out.requirements.push_back({k, LabelRequirement::Op::kEquals, {v.is_string() ? v.get<std::string>() : v.dump()}});
  if (auto e = selector.find("matchExpressions"); e != selector.end() && e->is_array())
    for (const Json& x : *e) {
      std::string op = x.value("operator", "");
      LabelRequirement r{x.value("key", ""), LabelRequirement::Op::kIn, {}};
      r.op = op == "NotIn" ? LabelRequirement::Op::kNotIn
             : op == "Exists" ? LabelRequirement::Op::kExists
             : op == "DoesNotExist" ? LabelRequirement::Op::kDoesNotExist : LabelRequirement::Op::kIn;
      if (auto vs = x.find("values"); vs != x.end() && vs->is_array())
        for (const Json& v : *vs) r.values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      out.requirements.push_back(std::move(r));
    }
  return out;
}

}  // namespace knlab::views
