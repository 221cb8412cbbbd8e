// kubectl describe's generic layout (k8s.io/kubectl describe.GenericDescriberFor), for the kinds
// kn-lab has no describer of its own for: Name, Namespace, Labels, Annotations, API Version and
// Kind, then metadata, spec and status as nested "Field Name:  value" lines (fields in title
// case, list items one after another), and Events. Pure.
#pragma once

#include <string>

#include "views/jsonpath.hpp"

namespace knlab::views {

std::string describe_generic(const Json& object);

// "creationTimestamp" -> "Creation Timestamp", "podCIDR" -> "Pod CIDR", as kubectl's
// describer writes field names.
std::string title_case(const std::string& field);

}  // namespace knlab::views
