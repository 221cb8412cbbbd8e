// kubectl's printers for API objects (src/kube): -o json, yaml and name, and the table printer
// with kubectl's columns (cli/columns), --no-headers, --show-labels, -L and a NAMESPACE column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/columns.hpp"

namespace knlab {

// {"apiVersion": "v1", "kind": "List", "items": [...], "metadata": {"resourceVersion": ""}}
Json as_list(std::vector<Json> items);
// kubectl -o json: 4-space indent, keys sorted (kubectl prints objects as unstructured maps).
std::string to_json_text(const Json& j);
// kubectl -o yaml: block style, keys sorted, strings quoted where YAML would read another type.
std::string to_yaml_text(const Json& j);

struct TableOptions {
  bool wide = false;
  bool no_headers = false;
  bool show_labels = false;
  std::vector<std::string> label_columns;  // -L
  bool with_namespace = false;             // -A: NAMESPACE first
  bool kind_prefix = false;                // several kinds: NAME as "pod/web"
};
std::string render_objects(const std::vector<Json>& objects, Kind kind, const TableOptions& o, std::int64_t now);

}  // namespace knlab
