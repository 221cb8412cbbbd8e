// kn-lab patch TYPE NAME | TYPE/NAME -p PATCH [--type strategic|merge|json]: kubectl patch.
// The patch is applied to the object as `get -o json` shows it (kube/patch), and the result goes
// back into the lab as `apply -f` of it would: one path for every kind whose object kn-lab keeps
// (Services, Deployments, Namespaces, Ingress and Gateway API objects). A pod keeps only its
// labels; the data planes' Services (ingress-nginx-controller, a Gateway's) their type,
// externalTrafficPolicy and sessionAffinity, as kn-lab's [[service_patch]]. `label` and
// `annotate` are patches of metadata (cli/label.cpp).
#include "cli/patch.hpp"

#include <fmt/core.h>

#include "cli/change.hpp"
#include "cli/resources.hpp"
#include "core/text.hpp"
#include "kube/objects.hpp"
#include "lab/kinds.hpp"
#include "lab/loader.hpp"
#include "lab/names.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"
#include "views/printers.hpp"

namespace knlab {

namespace {

using kube::Json;

struct PatchOptions {
  std::vector<std::string> args;
  std::string patch;
  std::string type = "strategic";
  std::string ns = "default";
  std::string lab;
};

bool same_except_metadata_maps(Json a, Json b) {
  for (Json* j : {&a, &b}) {
    (*j)["metadata"].erase("labels");
    (*j)["metadata"].erase("annotations");
  }
  return a == b;
}

// A data plane's Service: what `patch` may change is recorded as a ServicePatch.
Status patch_data_plane_service(Lab& desired, const Json& before, const Json& after, const ObjectTarget& t) {
  Json b = before["spec"], a = after["spec"];
  for (const char* k : {"type", "externalTrafficPolicy", "sessionAffinity"}) b.erase(k), a.erase(k);
  if (a != b || before["metadata"] != after["metadata"])
    return fail(input_error(SourceLocation{},
                            fmt::format("service {} is made by kn-lab's {} controller: a patch may change its type, externalTrafficPolicy "
                                        "and sessionAffinity only", t.name, t.ns == "ingress-nginx" ? "ingress" : "Gateway")));
  auto it = std::find_if(desired.service_patches.begin(), desired.service_patches.end(),
                         [&](const ServicePatch& sp) { return sp.ns == t.ns && sp.name == t.name; });
  if (it == desired.service_patches.end()) it = desired.service_patches.insert(it, ServicePatch{t.ns, t.name, {}, {}, {}, {}});
  const Json& spec = after["spec"];
  it->type = parse_service_type(spec.value("type", "ClusterIP"));
  if (it->type == ServiceType::kClusterIP && spec.contains("externalTrafficPolicy"))
    return fail(input_error(SourceLocation{}, "externalTrafficPolicy only applies to NodePort and LoadBalancer services"));
  it->local_traffic_policy = spec.value("externalTrafficPolicy", "Cluster") == "Local";
  it->session_affinity = spec.value("sessionAffinity", "None") == "ClientIP";
  return {};
}

bool is_data_plane_service(const Lab& lab, const ObjectTarget& t) {
  if (lab.ingress_nginx && t.ns == "ingress-nginx" && t.name == "ingress-nginx-controller") return true;
  return std::any_of(lab.l7.gateways.begin(), lab.l7.gateways.end(), [&](const GatewaySpec& gw) {
    auto dp = gateway_data_plane_name(lab, gw);
    return dp && dp->ns == t.ns && dp->name == t.name;
  });
}

// A node changes its labels only; Kubernetes' own (hostname, os, arch) stay as they are.
Status patch_node(Lab& desired, const ObjectTarget& t, const Json& before, const Json& after) {
  if (!same_except_metadata_maps(before, after) || after["metadata"].value("annotations", Json::object()) != before["metadata"].value("annotations", Json::object()))
    return fail(input_error(SourceLocation{}, fmt::format("kn-lab's node {} changes its labels only", t.name), "kn-lab label node NAME KEY=VALUE"));
  std::map<std::string, std::string> defaults = node_default_labels(t.name), labels;
  for (auto& [k, v] : after["metadata"].value("labels", std::map<std::string, std::string>{})) {
    auto d = defaults.find(k);
    if (d == defaults.end()) labels[k] = v;
    else if (d->second != v)
      return fail(input_error(SourceLocation{}, fmt::format("label {} of a node is Kubernetes' own ({})", k, d->second)));
  }
  for (auto& [k, v] : defaults)
    if (!after["metadata"].value("labels", Json::object()).contains(k))
      return fail(input_error(SourceLocation{}, fmt::format("label {} of a node is Kubernetes' own: it stays", k)));
  for (NodeSpec& n : desired.nodes)
    if (n.name == t.name) n.labels = std::move(labels);
  return {};
}

// The patched object into the lab.
Status patch_into(Lab& desired, const ObjectTarget& t, const Json& before, const Json& after) {
  if (t.kind->id == Kind::kService && is_data_plane_service(desired, t)) return patch_data_plane_service(desired, before, after, t);
  if (t.kind->id == Kind::kPod) {
    if (!same_except_metadata_maps(before, after) || after["metadata"].contains("annotations") != before["metadata"].contains("annotations") ||
        (after["metadata"].contains("annotations") && after["metadata"]["annotations"] != before["metadata"]["annotations"]))
      return fail(input_error(SourceLocation{}, fmt::format("The Pod \"{}\" is invalid: kn-lab's pods change their labels only", t.name),
                              "delete the pod and run it again with what it should be"));
    for (PodSpec& p : desired.pods)
      if (p.ns == t.ns && p.name == t.name) {
        p.labels = after["metadata"].value("labels", std::map<std::string, std::string>{});
        return {};
      }
    return fail(input_error(SourceLocation{}, fmt::format("pod {} belongs to a Deployment: its labels are the Deployment's template's", t.name),
                            "patch the Deployment's spec.template.metadata.labels"));
  }
  if (t.kind->id == Kind::kNode) return patch_node(desired, t, before, after);
  if (!t.kind->read)
    return fail(input_error(SourceLocation{}, fmt::format("kn-lab does not change {} objects", t.kind->kind),
                            "patch services, deployments, namespaces, pods' labels, and the Ingress and Gateway API objects"));
  bool labels_changed = after["metadata"].value("labels", Json::object()) != before["metadata"].value("labels", Json::object());
  bool annotations_changed = after["metadata"].value("annotations", Json::object()) != before["metadata"].value("annotations", Json::object());
  if ((t.kind->id == Kind::kDeployment && (labels_changed || annotations_changed)) || (t.kind->id == Kind::kService && annotations_changed))
      return fail(input_error(SourceLocation{}, fmt::format("kn-lab keeps no {} of a {}", annotations_changed ? "annotations" : "labels", t.kind->kind),
                              "a Service keeps its labels; a Deployment's pods take spec.template.metadata.labels"));
  Manifest m = KN_TRY(parse_manifests(views::to_yaml(after), fmt::format("the patched {}/{}", lower(t.kind->kind), t.name)));
  return apply_manifest(desired, m);
}

}  // namespace

Result<ObjectTarget> object_target(const std::vector<std::string>& args, const std::string& ns, std::string_view verb) {
  auto one = [&] {
    return fail(input_error(SourceLocation{fmt::format("kn-lab {}", verb), 0, 0}, "give one object, as TYPE NAME or TYPE/NAME",
                            "like svc/web, or svc web"));
  };
  if (args.empty() || args.size() > 2) return one();
  std::vector<ResourceRequest> reqs = KN_TRY(resource_requests(args, verb));
  if (reqs.size() != 1 || reqs.front().names.size() != 1) return one();
  const KindInfo* k = reqs.front().kind;
  return ObjectTarget{k, k->namespaced ? ns : std::string(), reqs.front().names.front()};
}

Result<int> patch_object(const std::string& lab_option, const ObjectTarget& t, const Json& patch, kube::PatchType type,
                         std::string_view verb, const GlobalOptions& g) {
  return change_object(lab_option, t, [&](const Json& before) { return kube::apply_patch(before, patch, type); }, verb, g);
}

Result<int> change_object(const std::string& lab_option, const ObjectTarget& t, const ObjectEdit& edit, std::string_view verb,
                          const GlobalOptions& g) {
  std::string lab = KN_TRY(lab_to_change(lab_option, verb));
  LabView v = KN_TRY(view_lab(lab));
  auto before = find_object(v, t.kind->id, t.ns, t.name);
  if (!before) return fail(state_error(std::string(verb), fmt::format("Error from server (NotFound): {} \"{}\" not found", t.kind->resource(), t.name)));
  Json after = KN_TRY(edit(*before));
  Json a = kube::as_manifest(after), b = kube::as_manifest(*before);
  std::string display = fmt::format("{}/{}", t.kind->qualified(), t.name);
  std::string done = verb == "patch" ? "patched" : verb == "label" ? "labeled" : verb == "edit" ? "edited" : "annotated";
  if (a == b) {
    if (verb == "edit") fmt::print("Edit cancelled, no changes made.\n");
    else fmt::print("{} {} (no change)\n", display, done);
    return 0;
  }
  if (a["metadata"]["name"] != b["metadata"]["name"] || a["metadata"].value("namespace", "") != b["metadata"].value("namespace", "") ||
      a["kind"] != b["kind"])
    return fail(input_error(SourceLocation{}, "a patch cannot change an object's kind, name or namespace"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) { return patch_into(desired, t, b, a); }, verbose_hooks(g)));
  print_change(fmt::format("{} {}", display, done), r);
  return 0;
}

namespace {

Result<int> run_patch(const PatchOptions& o, const GlobalOptions& g) {
  ObjectTarget t = KN_TRY(object_target(o.args, o.ns, "patch"));
  kube::PatchType type = KN_TRY(kube::parse_patch_type(o.type));
  Json patch = KN_TRY(kube::parse_patch(o.patch, "-p/--patch"));
  return patch_object(o.lab, t, patch, type, "patch", g);
}

}  // namespace

void register_patch(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<PatchOptions>();
  CLI::App* cmd = app.add_subcommand("patch", "Change an object in place with a strategic, merge or JSON patch (kubectl patch)");
  cmd->add_option("object", o->args, "TYPE NAME, or TYPE/NAME")->required()->expected(1, 2);
  cmd->add_option("-p,--patch", o->patch, "The patch, JSON or YAML: '{\"spec\":{\"type\":\"NodePort\"}}'")->required();
  cmd->add_option("--type", o->type, "strategic (default) | merge | json")->check(CLI::IsMember({"strategic", "merge", "json"}));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_patch(*o, g); }; });
}

}  // namespace knlab
