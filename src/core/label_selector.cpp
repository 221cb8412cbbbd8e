#include "core/label_selector.hpp"

#include "core/algorithm.hpp"

#include <algorithm>

namespace knlab {

bool operator==(const LabelRequirement& a, const LabelRequirement& b) {
  return a.key == b.key && a.op == b.op && a.values == b.values;
}

bool requirement_holds(const LabelRequirement& r, bool has, const std::string& value) {
  bool listed = std::find(r.values.begin(), r.values.end(), value) != r.values.end();
  switch (r.op) {
    case LabelRequirement::Op::kEquals:
    case LabelRequirement::Op::kIn: return has && listed;
    case LabelRequirement::Op::kNotIn: return !has || !listed;
    case LabelRequirement::Op::kExists: return has;
    case LabelRequirement::Op::kDoesNotExist: return !has;
  }
  return false;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(requirements.begin(), requirements.end(), [&](const LabelRequirement& r) {
    auto it = labels.find(r.key);
    return requirement_holds(r, it != labels.end(), it == labels.end() ? std::string() : it->second);
  });
}

std::string LabelSelector::str() const {
  if (requirements.empty()) return "<none>";
  std::vector<LabelRequirement> sorted = requirements;
  stable_order(sorted, [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
  std::string out;
  for (LabelRequirement& r : sorted) {
    if (!out.empty()) out += ',';
    std::sort(r.values.begin(), r.values.end());
    std::string values;
    for (const std::string& x : r.values) values += (values.empty() ? "" : ",") + x;
    switch (r.op) {
      case LabelRequirement::Op::kEquals: out += r.key + "=" + (r.values.empty() ? std::string() : r.values[0]); break;
      case LabelRequirement::Op::kIn: out += r.key + " in (" + values + ")"; break;
      case LabelRequirement::Op::kNotIn: out += r.key + " notin (" + values + ")"; break;
      case LabelRequirement::Op::kExists: out += r.key; break;
      case LabelRequirement::Op::kDoesNotExist: out += "!" + r.key; break;
    }
  }
  return out;
}

}  // namespace knlab
