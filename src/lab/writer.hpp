// Lab model -> TOML text that the loader reads back into the same model. Used to record the
// desired state of a lab after live changes (`kn-lab create`, `scale`, `expose`, `delete`).
// Pure.
#pragma once

#include <string>

#include "lab/model.hpp"

namespace knlab {

std::string write_lab(const Lab& lab);

}  // namespace knlab
