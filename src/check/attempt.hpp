// One attempt of a check, per kind (check.cpp retries and schedules them). Internal to src/check.
#pragma once

#include <string>

#include "lab/check_spec.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab::check {

struct Attempt {
  bool pass = false;
  std::string detail;  // what was seen, in words
};

Attempt traffic_attempt(const LabView& view, const CheckSpec& c);  // traffic.cpp
Attempt dns_attempt(const LabView& view, const CheckSpec& c);      // dns.cpp
Attempt kernel_attempt(const LabView& view, const CheckSpec& c);   // kernel_state.cpp
Attempt object_attempt(const LabView& view, const CheckSpec& c);   // object.cpp

// The network namespace a check names as FROM or node ("client", "node1", "external"...), with
// its label; an error names what the lab has.
Result<std::string> netns_of(const LabView& view, const std::string& name, const std::string& ns);

}  // namespace knlab::check
