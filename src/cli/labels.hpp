// Labels and annotations given on the command line: `--labels=a=b,c=d` (run, expose --selector)
// and the KEY=VALUE / KEY- arguments of `label` and `annotate`, checked as Kubernetes checks
// them (lab/names.hpp), and applied to an object's map with kubectl's --overwrite rule.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace knlab {

using StringMap = std::map<std::string, std::string>;

// "a=b,c=d" -> {a: b, c: d}. `option` names the flag in errors.
Result<StringMap> parse_label_map(std::string_view text, std::string_view option);

// The changes of `kn-lab label|annotate TYPE NAME KEY=VALUE... KEY-...`.
struct MapEdit {
  StringMap set;
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && remove.empty(); }
};
// `labels`: values must be label values (63, [A-Za-z0-9_.-]); annotations take any text.
Result<MapEdit> parse_map_edit(const std::vector<std::string>& args, bool labels);

// Applies `edit` to `map`. A key that already has another value needs `overwrite`, as kubectl
// says: "'app' already has a value (web), and --overwrite is false". Returns whether anything changed.
Result<bool> apply_map_edit(StringMap& map, const MapEdit& edit, bool overwrite);

}  // namespace knlab
