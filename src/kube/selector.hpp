// kubectl's label selectors (-l/--selector): equality-based (key=value, key==value, key!=value)
// and set-based (key in (a,b), key notin (a,b), key, !key), requirements joined by ','.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/label_selector.hpp"
#include "kube/objects.hpp"

namespace knlab {

class Selector {
 public:
  using Op = LabelRequirement::Op;
  using Requirement = LabelRequirement;
  // "" selects everything.
  static Result<Selector> parse(std::string_view text);
  // `labels`: a JSON object of strings (metadata.labels).
  bool matches(const Json& labels) const;
  const std::vector<Requirement>& requirements() const { return sel_.requirements; }
  const LabelSelector& selector() const { return sel_; }

 private:
  LabelSelector sel_;
};

// kubectl's field selectors (--field-selector): field=value, field==value, field!=value joined by
// ',', on the fields the API server indexes: metadata.name and metadata.namespace of every kind,
// and per kind the usual ones (a pod's spec.nodeName, status.podIP, status.phase; a Service's
// spec.type and spec.clusterIP; a Secret's type). Others are refused, as the API server does.
class FieldSelector {
 public:
  struct Requirement {
    std::string field;  // dotted path: "status.podIP"
    bool equal;
    std::string value;
  };
  // "" selects everything. `kind`: the Kind's name ("Pod"), for the fields it has.
  static Result<FieldSelector> parse(std::string_view text, std::string_view kind);
  bool matches(const Json& object) const;

 private:
  std::vector<Requirement> reqs_;
};

}  // namespace knlab
