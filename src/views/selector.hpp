// A metav1.LabelSelector object (matchLabels, matchExpressions) as a core LabelSelector, for the
// printers (a NetworkPolicy's POD-SELECTOR column, describe) and the selection of pods.
#pragma once

#include "core/label_selector.hpp"
#include "views/jsonpath.hpp"

namespace knlab::views {

// matchLabels (Equals requirements, keys sorted), then matchExpressions; a null or
// missing selector is empty.
LabelSelector label_selector_of(const Json& selector);

}  // namespace knlab::views
