// kubectl's printers for API objects held as nlohmann::json: the table printer (its layout,
// --no-headers, --show-labels, -L, the NAMESPACE column of -A), -o wide|json|yaml|name|
// jsonpath=|jsonpath-as-json=|custom-columns=, and Go's renderings of values that they share.
// Pure functions: the caller supplies the objects, the per-kind columns and the time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "views/jsonpath.hpp"

namespace knlab::views {

// ---- Go's renderings -------------------------------------------------------------------------

// A whole number as kubectl holds it (int64), floats with a whole value included.
std::optional<std::int64_t> whole_number(const Json& j);
// strconv.FormatFloat(d, 'g', -1, 64) as fmt's %v prints it ("1.5", "1e+06"), or with json
// encoding/json's form ("1000000", "1e-7").
std::string go_float(double d, bool json = false);
// encoding/json.Marshal (indent 0) or MarshalIndent(v, "", "    "): keys sorted, <, >, &
// escaped as \u003c, \u003e, \u0026, whole numbers as integers.
std::string go_json(const Json& j, int indent = 0);
// fmt.Sprint: strings raw, <nil>, 1.5, 1e+06, [a b], map[k:v] (custom-columns cells).
std::string go_sprint(const Json& j);
// One JSONPath result as kubectl prints it: objects and lists as compact JSON, the rest Sprint.
std::string jsonpath_text(const Json& j);
// A double-quoted string with \" \\ \n \t \r escaped, for messages (Go's %q).
std::string go_quote(std::string_view s);
// The UTF-8 sequence at s[i]: its code point and byte length; {U+FFFD, 1} if invalid.
std::pair<char32_t, std::size_t> utf8_decode(std::string_view s, std::size_t i);

// ---- Whole objects ---------------------------------------------------------------------------

// {"apiVersion": "v1", "items": [...], "kind": "List", "metadata": {"resourceVersion": ""}}
Json as_list(std::vector<Json> items);
// -o json: 4-space indent, keys sorted, a trailing newline.
std::string to_json(const Json& j);
// -o yaml as kubectl writes it (sigs.k8s.io/yaml over go-yaml v2): block style, 2-space indent,
// lists of a mapping at the mapping's indent, keys in go-yaml's order, strings quoted only where
// YAML would read another value ("80", "true", "", "2026-12-05T07:51:12Z" double-quoted, '*x'
// single-quoted), multi-line strings as | blocks, {} and [], long strings folded at column 80.
std::string to_yaml(const Json& j);
// -o name: "pod/web", "deployment.apps/web", "gateway.gateway.networking.k8s.io/g".
Result<std::string> object_name(const Json& object);

// ---- Tables ----------------------------------------------------------------------------------

// One column of kubectl's table for a kind; the caller defines them (kubectl's columns per kind).
struct Column {
  std::string header;  // printed uppercase
  std::function<std::string(const Json& object, std::int64_t now)> cell;
  bool wide = false;           // only with -o wide
  bool none_if_empty = false;  // an empty cell prints <none>
};

struct PrintOptions {
  bool single = false;       // one object asked for by name: json, yaml and jsonpath print it, not a List
  bool no_headers = false;   // --no-headers
  bool show_labels = false;  // --show-labels: a LABELS column, k=v,k2=v2 sorted, <none> if none
  std::vector<std::string> label_columns;  // -L a,b: one column per key, headed by its last /-part
  bool with_namespace = false;             // -A: NAMESPACE first
  std::string kind_prefix;                 // "deployment.apps": NAME cells as deployment.apps/web
  std::int64_t now = 0;                    // for AGE cells
};

// Go's tabwriter as kubectl sets it (minwidth 6, padding 3, spaces): each cell but a row's last
// padded to its column's width + 3, and to at least 6.
std::string render_table(const std::vector<std::vector<std::string>>& rows);
// kubectl's table of objects (empty string for no objects: kubectl prints no header then).
std::string print_table(const std::vector<Json>& objects, const std::vector<Column>& columns, const PrintOptions& o,
                        bool wide = false);

// ---- -o custom-columns= ----------------------------------------------------------------------

struct CustomColumn {
  std::string header;  // printed as given
  JsonPath path;
};
// "NAME:.metadata.name,IP:.status.podIP": HEADER:PATH, the path with or without braces and dot.
Result<std::vector<CustomColumn>> parse_custom_columns(std::string_view spec);
// One row per object: each path's values joined by ",", <none> when it has none.
Result<std::string> print_custom_columns(const std::vector<Json>& objects, const std::vector<CustomColumn>& columns,
                                         bool no_headers);

// ---- -o --------------------------------------------------------------------------------------

enum class OutputFormat { kTable, kWide, kJson, kYaml, kName, kJsonPath, kJsonPathAsJson, kCustomColumns };

struct OutputSpec {
  OutputFormat format = OutputFormat::kTable;
  std::string argument;                // the template or column spec after "="
  std::optional<JsonPath> jsonpath;    // kJsonPath, kJsonPathAsJson
  std::vector<CustomColumn> columns;   // kCustomColumns
};

// "", wide, json, yaml, name, jsonpath=T, jsonpath-as-json=T, custom-columns=SPEC; anything else
// is kubectl's "unable to match a printer suitable for the output format" with the formats allowed.
Result<OutputSpec> parse_output(std::string_view value);

// The output of `get` for these objects (items of a List are printed one by one where kubectl
// does). `columns` serve the table formats only.
Result<std::string> print(const OutputSpec& spec, const std::vector<Json>& objects, const std::vector<Column>& columns,
                          const PrintOptions& o);

}  // namespace knlab::views
