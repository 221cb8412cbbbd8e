// kn-lab apply -f <file|dir> [-f ...]: Kubernetes YAML manifests into a running lab, as kubectl
// apply: each object is created, or replaces the one of the same kind, namespace and name. All
// files are read and validated first; one change of the lab applies them all, or none.
#include <fmt/core.h>

#include "cli/change.hpp"
#include "lab/manifest.hpp"

namespace knlab {

namespace {

struct ApplyOptions {
  std::vector<std::string> files;
  std::string lab;
};

// Whether a lab already has an object of this kind, namespace and name.
bool exists(const Lab& lab, const ManifestObject& o) {
  auto same = [&](const ObjectMeta& m) { return m.name == o.name && (o.ns.empty() || m.ns == o.ns); };
  const L7Objects& l = lab.l7;
  if (o.kind == "Pod") return std::any_of(lab.pods.begin(), lab.pods.end(), [&](auto& p) { return p.name == o.name && p.ns == o.ns; });
  if (o.kind == "Deployment")
    return std::any_of(lab.deployments.begin(), lab.deployments.end(), [&](auto& d) { return d.name == o.name && d.ns == o.ns; });
  if (o.kind == "Service")
    return std::any_of(lab.services.begin(), lab.services.end(), [&](auto& s) { return s.name == o.name && s.ns == o.ns; });
  if (o.kind == "Namespace") return std::find(l.namespaces.begin(), l.namespaces.end(), o.name) != l.namespaces.end();
  auto any = [&](auto& v) { return std::any_of(v.begin(), v.end(), [&](auto& x) { return same(x.meta); }); };
  if (o.kind == "Secret") return any(l.secrets);
  if (o.kind == "IngressClass") return any(l.ingress_classes);
  if (o.kind == "Ingress") return any(l.ingresses);
  if (o.kind == "GatewayClass") return any(l.gateway_classes);
  if (o.kind == "Gateway") return any(l.gateways);
  if (o.kind == "HTTPRoute") return any(l.http_routes);
  if (o.kind == "ReferenceGrant") return any(l.reference_grants);
  if (o.kind == "TCPRoute" || o.kind == "UDPRoute") return any(l.l4_routes);
  return false;
}

Result<int> run_apply(const ApplyOptions& o, const GlobalOptions& g) {
  Manifest m = KN_TRY(load_manifest_files(o.files));  // before the lab is touched
  if (m.objects.empty())
    return fail(input_error(SourceLocation{o.files.front(), 0, 0}, "no objects in the manifests", "a manifest holds YAML documents with apiVersion, kind and metadata"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "apply"));
  std::vector<std::string> lines;
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (const ManifestObject& obj : m.objects)
      lines.push_back(fmt::format("{} {}", obj.display(), exists(desired, obj) ? "configured" : "created"));
    return apply_manifest(desired, m);
  }, verbose_hooks(g)));
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) fmt::print("{}\n", lines[i]);
  print_change(lines.back(), r);
  return 0;
}

}  // namespace

void register_apply(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand("apply", "Apply Kubernetes YAML manifests to a running lab (kubectl apply -f)");
  cmd->add_option("-f,--filename", o->files, "A manifest file, or a directory of .yaml files (repeatable)")->required();
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_apply(*o, g); }; });
}

}  // namespace knlab
