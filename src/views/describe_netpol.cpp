// kubectl describe of networking.k8s.io/v1 NetworkPolicies (describe.go: describeNetworkPolicy,
// describeNetworkPolicySpec, printNetworkPolicySpecIngressFrom and ...EgressTo, one function here
// for both directions), and kn-lab's NetworkPolicies section of describe pod.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "core/text.hpp"
#include "views/describe_internal.hpp"
#include "views/printers.hpp"
#include "views/selector.hpp"

namespace knlab::views::describing {

namespace {

// Go's non-nil pointer field: present and not null.
bool has(const Json& o, std::string_view key) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  return it != o.end() && !it->is_null();
}

// A list field; an empty list when missing, null or not a list.
const Json& items(const Json& o, std::string_view key) {
  static const Json empty = Json::array();
  const Json& j = field(o, key);
  return j.is_array() ? j : empty;
}

// metav1.FormatLabelSelector ("<none>" when empty).
std::string format_label_selector(const Json& selector) { return label_selector_of(selector).str(); }

// spec.policyTypes, or what the API server defaults them to when absent or empty
// (SetDefaults_NetworkPolicy): Ingress, plus Egress when spec.egress has a rule.
std::vector<std::string> policy_types(const Json& spec) {
  std::vector<std::string> types;
  for (const Json& t : items(spec, "policyTypes")) types.push_back(go_sprint(t));
  if (!types.empty()) return types;
  types.push_back("Ingress");
  if (!items(spec, "egress").empty()) types.push_back("Egress");
  return types;
}

// The words of one direction: its policy type, rules, peers, and what an empty peer list means.
struct Direction {
  std::string_view type, rules, peers, peer, unrestricted;
};
constexpr Direction kIngress{"Ingress", "ingress", "from", "From", "source"};
constexpr Direction kEgress{"Egress", "egress", "to", "To", "destination"};

void rule_ports(std::string& out, const Json& rule) {
  if (items(rule, "ports").empty()) out += "    To Port: <any> (traffic allowed to all ports)\n";
  for (const Json& p : items(rule, "ports")) {
    std::string proto = has(p, "protocol") ? str(p, "protocol") : "TCP";
    std::string port = has(p, "port") ? text(p, "port") : "<nil>";  // a nil *IntOrString
    if (has(p, "endPort")) out += fmt::format("    To Port Range: {}-{}/{}\n", port, text(p, "endPort"), proto);
    else out += fmt::format("    To Port: {}/{}\n", port, proto);
  }
}

void rule_peer(std::string& out, const Json& peer, const Direction& d) {
  out += fmt::format("    {}:\n", d.peer);
  bool pods = has(peer, "podSelector"), namespaces = has(peer, "namespaceSelector");
  if (namespaces) out += fmt::format("      NamespaceSelector: {}\n", format_label_selector(field(peer, "namespaceSelector")));
  if (pods) out += fmt::format("      PodSelector: {}\n", format_label_selector(field(peer, "podSelector")));
  if (pods || namespaces || !has(peer, "ipBlock")) return;
  const Json& block = field(peer, "ipBlock");
  std::vector<std::string> except;
  for (const Json& e : items(block, "except")) except.push_back(go_sprint(e));
  out += fmt::format("      IPBlock:\n        CIDR: {}\n        Except: {}\n", str(block, "cidr"), join(except, ", "));
}

void rules(std::string& out, const Json& spec, const Direction& d) {
  const Json& list = items(spec, d.rules);
  if (list.empty()) out += fmt::format("    <none> (Selected pods are isolated for {} connectivity)\n", d.rules);
  for (std::size_t i = 0; i < list.size(); ++i) {
    rule_ports(out, list[i]);
    const Json& peers = items(list[i], d.peers);
    if (peers.empty()) out += fmt::format("    {}: <any> (traffic not restricted by {})\n", d.peer, d.unrestricted);
    for (const Json& peer : peers) rule_peer(out, peer, d);
    if (i + 1 < list.size()) out += "    ----------\n";
  }
}

void policy_spec(std::string& out, const Json& spec) {
  const Json& pods = field(spec, "podSelector");
  std::string selected = label_selector_of(pods).empty() ? "<none> (Allowing the specific traffic to all pods in this namespace)"
                                                         : format_label_selector(pods);
  out += fmt::format("Spec:\n  PodSelector:     {}\n", selected);  // "PodSelector: ", then LEVEL_2's four spaces
  std::vector<std::string> types = policy_types(spec);
  for (const Direction& d : {kIngress, kEgress}) {
    if (std::find(types.begin(), types.end(), d.type) == types.end()) {
      out += fmt::format("  Not affecting {} traffic\n", d.rules);
      continue;
    }
    out += fmt::format("  Allowing {} traffic:\n", d.rules);
    rules(out, spec, d);
  }
  out += fmt::format("  Policy Types: {}\n", or_none(join(types, ", ")));
}

// A policy selects the pods of its own namespace that its spec.podSelector matches.
bool selects(const Json& policy, const Json& pod) {
  const Json& md = field(pod, "metadata");
  if (str(field(policy, "metadata"), "namespace") != str(md, "namespace")) return false;
  std::map<std::string, std::string> labels;
  for (auto& [k, v] : field(md, "labels").items()) labels[k] = go_sprint(v);
  return label_selector_of(field(field(policy, "spec"), "podSelector")).matches(labels);
}

}  // namespace

std::string describe_networkpolicy(const Json& o) {
  std::string out;
  name_and_namespace(out, o);
  out += fmt::format("Created on:\t{}\n", go_time(str(field(o, "metadata"), "creationTimestamp")));
  labels_and_annotations(out, o);
  policy_spec(out, field(o, "spec"));
  return out;
}

std::string pod_network_policies(const Json& pod, const DescribeContext& ctx) {
  bool any = false;
  std::map<std::string, std::string> selecting;  // name -> its policy types, by name
  for (const Json& policy : ctx.related) {
    if (str(policy, "kind") != "NetworkPolicy") continue;
    any = true;
    if (selects(policy, pod))
      selecting.emplace(str(field(policy, "metadata"), "name"), join(policy_types(field(policy, "spec")), ", "));
  }
  if (!any) return {};
  if (selecting.empty()) return "NetworkPolicies:\t<none>\n";
  std::string out = "NetworkPolicies:\n";
  for (const auto& [name, types] : selecting) out += fmt::format("  {} ({})\n", name, types);
  return out;
}

}  // namespace knlab::views::describing
