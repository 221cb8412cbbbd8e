// kubectl's table columns for each kind, computed from the API objects of src/kube (as
// kubectl's server-side table printers compute them from the objects); views/printers prints them.
#pragma once

#include <vector>

#include "kube/objects.hpp"
#include "views/printers.hpp"

namespace knlab {

const std::vector<views::Column>& columns_for(Kind kind);

}  // namespace knlab
