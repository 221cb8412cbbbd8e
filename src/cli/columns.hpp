// kubectl's table columns for each kind, computed from the API objects of src/kube (as
// kubectl's server-side table printers compute them from the objects), and kubectl's AGE.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kube/objects.hpp"

namespace knlab {

struct Column {
  std::string header;
  bool wide = false;  // only with -o wide
  std::function<std::string(const Json& object, std::int64_t now)> cell;
};

const std::vector<Column>& columns_for(Kind kind);

// kubectl's AGE (k8s.io/apimachinery duration.HumanDuration): 45s, 3m12s, 12m, 5h30m, 3d4h, 400d, 2y10d.
std::string human_duration(std::int64_t seconds);
// Seconds since an RFC 3339 time ("2026-12-05T07:51:12Z"); 0 when it does not parse.
std::int64_t age_of(const std::string& rfc3339_time, std::int64_t now);

}  // namespace knlab
