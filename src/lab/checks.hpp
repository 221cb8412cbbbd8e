// The reader of checks (lab files' [[check]], exercise steps' [[step.check]]); the model and
// its keys are in lab/check_spec.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>
#include <toml++/toml.h>

#include "core/error.hpp"
#include "lab/check_spec.hpp"

namespace knlab {

// [[check]] tables of `root` (a lab file) or of a step; `context` names them in errors
// ("[[check]]", "[[step.check]] of step 'expose'"). Names are unique and `after` names
// earlier-or-later checks of the same list; cycles are refused.
Result<std::vector<CheckSpec>> read_checks(const toml::table& parent, std::string_view key, std::string_view context, const std::string& file);

}  // namespace knlab
