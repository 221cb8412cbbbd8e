// What get and describe share: kubectl's resource arguments (TYPE [NAME...], TYPE1,TYPE2, all,
// TYPE/NAME...) resolved through the registry of kinds (lab/kinds.hpp), and the lab's objects
// they select (src/kube) in a namespace or all of them, by label selector.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kube/selector.hpp"
#include "core/error.hpp"
#include "kube/objects.hpp"

namespace knlab {

// A kind and the names asked for (none: every object of the kind).
struct ResourceRequest {
  const KindInfo* kind;
  std::vector<std::string> names;
};

// kubectl's forms; `command` ("get") names the command in errors.
Result<std::vector<ResourceRequest>> resource_requests(const std::vector<std::string>& args, std::string_view command);

struct ResourceScope {
  std::string ns = "default";
  bool all_namespaces = false;
  Selector selector;
  // describe: a name with no object of that name selects the objects whose names start with it.
  bool name_prefixes = false;
  std::string field_selector;  // get --field-selector, checked per kind (cli/selector FieldSelector)
};

struct Found {
  const KindInfo* kind;
  std::vector<Json> objects;
};

// --field-selector against each requested kind, before the lab is read.
Status check_field_selector(const std::vector<ResourceRequest>& reqs, const ResourceScope& scope);

// The objects of each request, in the request's order; a name that selects nothing is kubectl's
// `Error from server (NotFound): services "x" not found`.
Result<std::vector<Found>> find_objects(const LabView& v, const std::vector<ResourceRequest>& reqs, const ResourceScope& scope,
                                        std::string_view command);

}  // namespace knlab
