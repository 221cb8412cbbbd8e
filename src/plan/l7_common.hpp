// What the Gateway API semantics and the nginx writers share: lookups in the plan (Services,
// their ports, TLS Secrets) and small text helpers. Internal to src/plan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/algorithm.hpp"
#include "core/text.hpp"
#include "plan/plan.hpp"

namespace knlab::l7 {

using ::knlab::join;
using ::knlab::lower;
bool iequals(std::string_view a, std::string_view b);
// "<namespace>/<name>" of an object.
std::string object_id(const ObjectMeta& m);
// "/api/" as "/api" (a Prefix path, element-wise); "/" stays.
std::string strip_trailing_slashes(std::string p);

const ServicePlan* find_service(const LabPlan& plan, std::string_view ns, std::string_view name);
// A Service port by number, or by name when number is 0. `protocol` "TCP" or "UDP".
const ServicePortPlan* find_port(const ServicePlan& s, std::uint16_t number, std::string_view name,
                                 std::string_view protocol);
const SecretSpec* find_secret(const LabPlan& plan, std::string_view ns, std::string_view name);

}  // namespace knlab::l7
