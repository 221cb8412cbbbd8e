// kubectl describe networkpolicy (describe.go: describeNetworkPolicy and the functions it calls,
// whose strings and spacing the expected texts follow), and the policies describe pod lists.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "views/describe.hpp"

using namespace knlab;
using namespace knlab::views;

namespace {

// The expected text: one string per line.
std::string text_of(const std::vector<std::string_view>& lines) { return join(lines, "\n") + "\n"; }

Json policy(std::string_view name, std::string_view spec, std::string_view ns = "default") {
  Json o = {{"apiVersion", "networking.k8s.io/v1"}, {"kind", "NetworkPolicy"},
            {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", "2026-12-05T07:51:12Z"}}}};
  o["spec"] = Json::parse(spec);
  return o;
}

// The head every policy of these tests shares (no labels, no annotations).
const std::vector<std::string_view> kHead = {
    "Name:         NAME",
    "Namespace:    default",
    "Created on:   2026-12-05 07:51:12 +0000 UTC",
    "Labels:       <none>",
    "Annotations:  <none>",
};

// kHead with `name` (padded as the tabwriter pads "Name:"), then `spec`.
std::string described(std::string_view name, const std::vector<std::string_view>& spec) {
  std::string head = text_of(kHead);
  head.replace(head.find("NAME"), 4, name);
  return head + text_of(spec);
}

}  // namespace

TEST_CASE("describe NetworkPolicy: default deny ingress (podSelector {}), the head, Created on as Go's time") {
  Json np = policy("default-deny-ingress", R"({"podSelector": {}, "policyTypes": ["Ingress"]})");
  CHECK(describe(np, {}) == described("default-deny-ingress", {
                                "Spec:",
                                "  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)",
                                "  Allowing ingress traffic:",
                                "    <none> (Selected pods are isolated for ingress connectivity)",
                                "  Not affecting egress traffic",
                                "  Policy Types: Ingress",
                            }));
  // Labels and annotations one per line (printLabelsMultiline); no creationTimestamp: Go's zero time.
  np["metadata"]["labels"] = {{"team", "blue"}, {"app", "web"}};
  np["metadata"]["annotations"] = {{"note", "deny all"}};
  np["metadata"].erase("creationTimestamp");
  CHECK(describe(np, {}).starts_with(text_of({
      "Name:         default-deny-ingress",
      "Namespace:    default",
      "Created on:   0001-01-01 00:00:00 +0000 UTC",
      "Labels:       app=web",
      "              team=blue",
      "Annotations:  note: deny all",
      "Spec:",
  })));
}

TEST_CASE("describe NetworkPolicy: allow from the same namespace (policyTypes defaulted as the API server does)") {
  Json np = policy("allow-same-namespace",
                   R"({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {}}]}]})");
  CHECK(describe(np, {}) == described("allow-same-namespace", {
                                "Spec:",
                                "  PodSelector:     app=web",
                                "  Allowing ingress traffic:",
                                "    To Port: <any> (traffic allowed to all ports)",
                                "    From:",
                                "      PodSelector: <none>",
                                "  Not affecting egress traffic",
                                "  Policy Types: Ingress",
                            }));
}

TEST_CASE("describe NetworkPolicy: a peer with podSelector AND namespaceSelector, ipBlocks with and without except, rules") {
  Json np = policy("peers", R"({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"], "ingress": [
      {"ports": [{"protocol": "TCP", "port": 5432}],
       "from": [{"podSelector": {"matchLabels": {"role": "client"}},
                 "namespaceSelector": {"matchLabels": {"team": "blue"}, "matchExpressions": [
                     {"key": "zone", "operator": "NotIn", "values": ["b", "a"]}, {"key": "env", "operator": "In", "values": ["prod"]},
                     {"key": "canary", "operator": "DoesNotExist"}, {"key": "tier", "operator": "Exists"}]}},
                {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24", "10.0.2.0/24"]}}]},
      {"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}]})");
  // FormatLabelSelector: sorted by key, matchLabels as k=v, an In of one value as "k in (v)",
  // values sorted; an empty except prints "Except: " (with its space).
  CHECK(describe(np, {}) == described("peers", {
                                "Spec:",
                                "  PodSelector:     app=db",
                                "  Allowing ingress traffic:",
                                "    To Port: 5432/TCP",
                                "    From:",
                                "      NamespaceSelector: !canary,env in (prod),team=blue,tier,zone notin (a,b)",
                                "      PodSelector: role=client",
                                "    From:",
                                "      IPBlock:",
                                "        CIDR: 10.0.0.0/16",
                                "        Except: 10.0.1.0/24, 10.0.2.0/24",
                                "    ----------",
                                "    To Port: <any> (traffic allowed to all ports)",
                                "    From:",
                                "      IPBlock:",
                                "        CIDR: 192.168.0.0/16",
                                "        Except: ",
                                "  Not affecting egress traffic",
                                "  Policy Types: Ingress",
                            }));
}

TEST_CASE("describe NetworkPolicy: a named port, a port range (endPort), a protocol without a port, any source") {
  Json np = policy("ports", R"({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"], "ingress": [
      {"ports": [{"port": "http"}, {"protocol": "UDP", "port": 32000, "endPort": 32768}, {"protocol": "SCTP"}]}]})");
  CHECK(describe(np, {}) == described("ports", {
                                "Spec:",
                                "  PodSelector:     app=web",
                                "  Allowing ingress traffic:",
                                "    To Port: http/TCP",
                                "    To Port Range: 32000-32768/UDP",
                                "    To Port: <nil>/SCTP",
                                "    From: <any> (traffic not restricted by source)",
                                "  Not affecting egress traffic",
                                "  Policy Types: Ingress",
                            }));
}

TEST_CASE("describe NetworkPolicy: egress to cluster DNS on 53/UDP and 53/TCP") {
  Json np = policy("allow-dns", R"({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [
      {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
               "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]})");
  CHECK(describe(np, {}) == described("allow-dns", {
                                "Spec:",
                                "  PodSelector:     app=web",
                                "  Not affecting ingress traffic",
                                "  Allowing egress traffic:",
                                "    To Port: 53/UDP",
                                "    To Port: 53/TCP",
                                "    To:",
                                "      NamespaceSelector: kubernetes.io/metadata.name=kube-system",
                                "      PodSelector: k8s-app=kube-dns",
                                "  Policy Types: Egress",
                            }));
}

TEST_CASE("describe NetworkPolicy: both policy types, given or defaulted") {
  Json np = policy("both", R"({"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
      "policyTypes": ["Ingress", "Egress"], "ingress": [{"from": [{"namespaceSelector": {}}]}],
      "egress": [{"ports": [{"port": 443}]}]})");
  std::vector<std::string_view> spec = {
      "Spec:",
      "  PodSelector:     app in (api,web)",
      "  Allowing ingress traffic:",
      "    To Port: <any> (traffic allowed to all ports)",
      "    From:",
      "      NamespaceSelector: <none>",
      "  Allowing egress traffic:",
      "    To Port: 443/TCP",
      "    To: <any> (traffic not restricted by destination)",
      "  Policy Types: Ingress, Egress",
  };
  CHECK(describe(np, {}) == described("both", spec));
  np["spec"].erase("policyTypes");  // egress rules: Ingress, Egress
  CHECK(describe(np, {}) == described("both", spec));
  np["spec"]["egress"] = Json::array();  // no egress rule: Ingress only
  CHECK(describe(np, {}).ends_with("  Not affecting egress traffic\n  Policy Types: Ingress\n"));
  np["spec"]["policyTypes"] = {"Ingress", "Egress"};
  CHECK(describe(np, {}).ends_with("  Allowing egress traffic:\n    <none> (Selected pods are isolated for egress connectivity)\n"
                                   "  Policy Types: Ingress, Egress\n"));
}

TEST_CASE("describe Pod: the NetworkPolicies that select it, by name, with their policy types") {
  CHECK(related_kinds("Pod") == std::vector<std::string_view>{"NetworkPolicy"});
  Json pod = Json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default",
    "labels": {"app": "web", "tier": "front"}}, "spec": {"nodeName": "node1", "containers": []},
    "status": {"phase": "Running", "hostIP": "192.168.56.11", "podIP": "10.244.0.2", "qosClass": "BestEffort"}})");
  DescribeContext ctx{{policy("default-deny", R"({"podSelector": {}, "policyTypes": ["Ingress"]})"),
                       policy("allow-web", R"({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{}]})"),
                       policy("api-only", R"({"podSelector": {"matchLabels": {"app": "api"}}})"),
                       policy("other-namespace", R"({"podSelector": {}})", "prod")},
                      0};
  CHECK(describe(pod, ctx).ends_with(text_of({
      "Volumes:         <none>",
      "QoS Class:       BestEffort",
      "Node-Selectors:  <none>",
      "Tolerations:     <none>",
      "NetworkPolicies:",
      "  allow-web (Ingress, Egress)",
      "  default-deny (Ingress)",
      "Events:  <none>",
  })));
  pod["metadata"]["labels"] = {{"app", "db"}};
  ctx.related.erase(ctx.related.begin(), ctx.related.begin() + 2);
  CHECK(describe(pod, ctx).ends_with(text_of({
      "Volumes:          <none>",
      "QoS Class:        BestEffort",
      "Node-Selectors:   <none>",
      "Tolerations:      <none>",
      "NetworkPolicies:  <none>",
      "Events:           <none>",
  })));
  // A lab without NetworkPolicies: describe pod as kubectl prints it.
  CHECK(describe(pod, {}).ends_with(text_of({"Tolerations:     <none>", "Events:          <none>"})));
}
