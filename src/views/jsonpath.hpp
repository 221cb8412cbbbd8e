// kubectl's JSONPath dialect (k8s.io/client-go/util/jsonpath), for -o jsonpath=, -o jsonpath-as-json=
// and the paths of -o custom-columns=, over API objects held as nlohmann::json.
//
// A template is text with actions in braces: "{.items[*].metadata.name}", "{range .items[*]}...{end}",
// "{'\t'}". Inside an action: .field (a backslash escapes a terminator: labels.kubernetes\.io/os),
// ['field'] (the same as .field, so ['a.b'] is the path a.b, as in kubectl), [*] and .* (wildcard),
// [i], [-1], [start:end:step], [i,j] and ['a','b'] (unions), ..field (recursive descent),
// [?(@.x=="v")] with == != < <= > >= and [?(@.x)] (exists), @ and $ (both the current object,
// as in kubectl), "..." and '...' literals with Go's escapes, numbers, true and false.
// As in kubectl, ["key"] is refused (invalid array index) and {.} is the field "" (nothing),
// not the root: {@} is the current object.
//
// Execution follows kubectl's get: missing keys print nothing (kubectl's -o jsonpath printer is
// made with AllowMissingKeys(true), the default of --allow-missing-template-keys), while an index
// out of range or an index into a non-list is an error, as in kubectl.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace knlab::views {

using Json = nlohmann::json;

namespace jsonpath_detail {

enum class NodeType { kList, kText, kField, kArray, kFilter, kInt, kFloat, kBool, kWildcard, kRecursive, kUnion, kIdentifier, kRange };

struct SliceParam {
  std::int64_t value = 0;
  bool known = false;
  bool derived = false;  // [i]: end = i + 1
};

struct Node {
  NodeType type = NodeType::kList;
  std::string text;  // kText, kField, kIdentifier; kFilter: its operator ("exists" for [?(@.x)])
  std::int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::array<SliceParam, 3> params{};
  // kList: its steps; kUnion: one kList per part; kFilter: left and right kList;
  // kRange: the range expression (a kList), then the body.
  std::vector<Node> nodes;
  unsigned column = 0;  // 1-based, in the template
};

}  // namespace jsonpath_detail

class JsonPath {
 public:
  // `origin` names the template in errors ("-o jsonpath"): SourceLocation{origin, 1, column}.
  static Result<JsonPath> parse(std::string_view text, std::string origin = "-o jsonpath");

  // The template's output: each action's results separated by one space, strings raw, objects
  // and lists as compact JSON (as kubectl's JSONPath printer).
  Result<std::string> execute(const Json& data) const;
  // -o jsonpath-as-json: each action's results as a JSON array, 4-space indent, one per line.
  Result<std::string> execute_as_json(const Json& data) const;
  // The results of each text and action, in order (client-go's FindResults).
  Result<std::vector<std::vector<Json>>> find_results(const Json& data) const;

  const std::string& text() const { return text_; }
  void allow_missing_keys(bool allow) { allow_missing_ = allow; }

 private:
  std::string text_;
  std::string origin_;
  jsonpath_detail::Node root_;
  bool allow_missing_ = true;
};

}  // namespace knlab::views
