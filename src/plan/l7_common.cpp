#include "plan/l7_common.hpp"

#include <cctype>

namespace knlab::l7 {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

std::string object_id(const ObjectMeta& m) {
  return m.ns + "/" + m.name;
}

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.ends_with('/')) p.pop_back();
  return p;
}

const ServicePlan* find_service(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const ServicePlan& s : plan.services)
    if (s.spec.ns == ns && s.spec.name == name) return &s;
  return nullptr;
}

const ServicePortPlan* find_port(const ServicePlan& s, std::uint16_t number, std::string_view name,
                                 std::string_view protocol) {
  for (const ServicePortPlan& p : s.ports) {
    if (!iequals(p.protocol.empty() ? "TCP" : p.protocol, protocol)) continue;
    if (number != 0 ? p.port == number : (!name.empty() && p.name == name)) return &p;
  }
  return nullptr;
}

const SecretSpec* find_secret(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const SecretSpec& s : plan.l7.secrets)
    if (s.meta.ns == ns && s.meta.name == name) return &s;
  return nullptr;
}

}  // namespace knlab::l7
