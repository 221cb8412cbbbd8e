// Kubernetes YAML manifests -> lab objects (`kn-lab apply -f`, and `manifests = [...]` of a lab
// file). Namespace, Pod, Deployment and Service become the lab's own pods, deployments and
// services; Secret (kubernetes.io/tls), IngressClass, Ingress, GatewayClass, Gateway, HTTPRoute,
// TCPRoute, UDPRoute and ReferenceGrant become L7 objects (lab/l7.hpp).
//
// Contract: like the lab loader, no side effects, never throws, never aborts on any input (a
// fuzz target). Either every document is valid and a Manifest comes back, or the first problem
// comes back as an Error of kind kInput naming file:line:column, the document (kind/name), the
// field path (spec.rules[0].http.paths[0].pathType) and what is allowed. Unknown kinds and
// fields kn-lab does not implement are errors, not silently ignored (status is ignored).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "lab/model.hpp"

namespace knlab {

struct ManifestObject {
  std::string kind;   // "Ingress"
  std::string group;  // "networking.k8s.io" ("" for core)
  std::string ns;     // empty for cluster-scoped kinds
  std::string name;
  SourceLocation where;
  // "ingress.networking.k8s.io/ingress", as kubectl prints it
  std::string display() const;
};

struct Manifest {
  std::vector<ManifestObject> objects;  // every document, in order
  std::vector<PodSpec> pods;            // node empty unless spec.nodeName
  std::vector<DeploymentSpec> deployments;
  std::vector<ServiceSpec> services;
  L7Objects l7;
};

// Parses multi-document YAML text. `source_name` is used in error locations.
Result<Manifest> parse_manifests(std::string_view text, std::string source_name);
// Reads a file, or every *.yaml / *.yml file of a directory (sorted by name), and parses it.
Result<Manifest> load_manifests(const std::string& path);

// kubectl apply: each object is created or replaces the one of the same kind/namespace/name.
// Pods without a node are given the node with the fewest pods. Fails (leaving `lab` unchanged)
// on what only the lab can tell: a pod on a node the lab does not have.
Status apply_manifest(Lab& lab, const Manifest& m);
// kubectl delete -f: removes each object; names of those that were not there go to `missing`.
void delete_manifest(Lab& lab, const Manifest& m, std::vector<std::string>& missing);

// The L7 objects as YAML documents (their recorded `yaml`), for the lab's record; parse_manifests
// reads them back.
std::string l7_yaml(const L7Objects& l7);

// A Secret of type kubernetes.io/tls as YAML (`kn-lab create secret tls`). Fails unless cert
// and key are PEM (a CERTIFICATE block and a PRIVATE KEY block).
Result<std::string> tls_secret_yaml(const std::string& name, const std::string& ns, const std::string& cert_pem,
                                    const std::string& key_pem);

}  // namespace knlab
