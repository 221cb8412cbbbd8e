// ipsets as plain data: the sets kube-router keeps for NetworkPolicies (KUBE-SRC-*, KUBE-DST-*),
// rendered as `ipset save` prints them. The planner (plan/netpol) makes them, the kernel layer
// (net/ipset) makes a namespace's sets exactly these with libipset, element by element.
#pragma once

#include <string>
#include <vector>

namespace knlab {

struct IpSet {
  std::string name;                  // at most 31 characters
  std::string type = "hash:ip";      // "hash:ip" (pods) or "hash:net" (ipBlocks)
  // Members as `ipset save` prints them: "10.244.1.2"; for hash:net "10.0.0.0/8", a /32 as the
  // bare address, and "10.0.1.0/24 nomatch" for an except. Sorted, no duplicates.
  std::vector<std::string> entries;
  bool operator==(const IpSet&) const = default;
};

// The prefix of the sets kn-lab owns in a node: others are never touched.
bool owned_ipset(const std::string& name);

// "create NAME TYPE family inet hashsize 1024 maxelem 65536" and "add NAME ENTRY" lines.
std::string render_ipset_save(const std::vector<IpSet>& sets);

}  // namespace knlab
