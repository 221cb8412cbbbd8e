#include "ops/ipset.hpp"

namespace knlab {

bool owned_ipset(const std::string& name) { return name.starts_with("KUBE-SRC-") || name.starts_with("KUBE-DST-"); }

std::string render_ipset_save(const std::vector<IpSet>& sets) {
  std::string out;
  for (const IpSet& s : sets) {
    out += "create " + s.name + " " + s.type + " family inet hashsize 1024 maxelem 65536\n";
    for (const std::string& e : s.entries) out += "add " + s.name + " " + e + "\n";
  }
  return out;
}

}  // namespace knlab
