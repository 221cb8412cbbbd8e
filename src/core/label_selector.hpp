// Kubernetes label selectors as values: requirements (key In/NotIn/Exists/DoesNotExist values),
// all of which must hold. A NetworkPolicy's podSelector and namespaceSelector (matchLabels are
// In requirements of one value), kubectl's -l, and the printers' "<none>"/"app=web" forms.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace knlab {

struct LabelRequirement {
  enum class Op { kEquals, kIn, kNotIn, kExists, kDoesNotExist };  // kEquals: a matchLabels entry
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;
};

struct LabelSelector {
  std::vector<LabelRequirement> requirements;  // matchLabels first (kEquals), then matchExpressions

  // An empty selector selects everything.
  bool empty() const { return requirements.empty(); }
  bool matches(const std::map<std::string, std::string>& labels) const;
  // metav1.FormatLabelSelector: the requirements sorted by key (stable), values sorted:
  // "app=web,tier in (a,b),!canary"; "<none>" when empty.
  std::string str() const;
  bool operator==(const LabelSelector&) const = default;
};

bool requirement_holds(const LabelRequirement& r, bool has, const std::string& value);
bool operator==(const LabelRequirement& a, const LabelRequirement& b);

}  // namespace knlab
