// kubectl's label selectors (-l/--selector): equality-based (key=value, key==value, key!=value)
// and set-based (key in (a,b), key notin (a,b), key, !key), requirements joined by ','.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "kube/objects.hpp"

namespace knlab {

class Selector {
 public:
  enum class Op { kIn, kNotIn, kExists, kNotExists };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  // "" selects everything.
  static Result<Selector> parse(std::string_view text);
  // `labels`: a JSON object of strings (metadata.labels).
  bool matches(const Json& labels) const;
  const std::vector<Requirement>& requirements() const { return reqs_; }

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace knlab
