// kn-lab patch svc <name> [--type=...] [--external-traffic-policy=Cluster|Local]
// [--session-affinity=None|ClientIP]: what `kubectl patch`/`edit` do to a Service, in place.
#include <fmt/core.h>

#include <algorithm>

#include "cli/change.hpp"
#include "lab/loader.hpp"

namespace knlab {

namespace {

struct PatchOptions {
  std::string kind;
  std::string name;
  std::string type;
  std::string etp;
  std::string affinity;
  std::string ns = "default";
  std::string lab;
};

Result<int> run_patch(const PatchOptions& o, const GlobalOptions& g) {
  if (auto ref = parse_ref(o.kind + "/x"); !ref || ref->first != "service")
    return fail(input_error(SourceLocation{}, fmt::format("cannot patch \"{}\"", o.kind), "kn-lab patch svc <name> --type=NodePort"));
  if (o.type.empty() && o.etp.empty() && o.affinity.empty())
    return fail(input_error(SourceLocation{}, "nothing to change",
                            "give --type, --external-traffic-policy or --session-affinity"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "patch"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& s : desired.services)
      if (s.name == o.name && s.ns == o.ns) {
        if (!o.type.empty()) {
          s.type = parse_service_type(o.type).value_or(ServiceType::kClusterIP);  // CLI11 checked the name
          if (s.type == ServiceType::kClusterIP) {
            for (ServicePortSpec& p : s.ports) p.node_port.reset();
            s.local_traffic_policy = false;
          }
        }
        if (!o.etp.empty()) {
          if (s.type == ServiceType::kClusterIP)
            return fail(state_error("patch", "externalTrafficPolicy only applies to NodePort and LoadBalancer services"));
          s.local_traffic_policy = o.etp == "Local";
        }
        if (!o.affinity.empty()) s.session_affinity = o.affinity == "ClientIP";
        return {};
      }
    // A Service kn-lab makes itself (a data plane's): the patch is recorded beside it.
    bool ours = (desired.ingress_nginx && o.ns == "ingress-nginx" && o.name == "ingress-nginx-controller") ||
                std::any_of(desired.l7.gateways.begin(), desired.l7.gateways.end(),
                            [&](const GatewaySpec& gw) { return gw.meta.ns == o.ns && gw.meta.name + "-nginx" == o.name; });
    if (!ours) return fail(state_error("patch", fmt::format("services \"{}\" not found", o.name)));
    auto it = std::find_if(desired.service_patches.begin(), desired.service_patches.end(),
                           [&](const ServicePatch& sp) { return sp.ns == o.ns && sp.name == o.name; });
    if (it == desired.service_patches.end()) it = desired.service_patches.insert(it, ServicePatch{o.ns, o.name, {}, {}, {}, {}});
    if (!o.type.empty()) it->type = parse_service_type(o.type);
    ServiceType effective = it->type.value_or(o.ns == "ingress-nginx" ? desired.ingress_nginx->type : ServiceType::kLoadBalancer);
    if (!o.etp.empty()) {
      if (effective == ServiceType::kClusterIP)
        return fail(state_error("patch", "externalTrafficPolicy only applies to NodePort and LoadBalancer services"));
      it->local_traffic_policy = o.etp == "Local";
    }
    if (!o.affinity.empty()) it->session_affinity = o.affinity == "ClientIP";
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("service/{} patched", o.name), r);
  return 0;
}

}  // namespace

void register_patch(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<PatchOptions>();
  CLI::App* cmd = app.add_subcommand("patch", "Change a Service's type, external traffic policy or session affinity in place");
  cmd->add_option("kind", o->kind, "svc")->required();
  cmd->add_option("name", o->name, "Service name")->required();
  cmd->add_option("--type", o->type, "ClusterIP | NodePort | LoadBalancer")->check(CLI::IsMember({"ClusterIP", "NodePort", "LoadBalancer"}));
  cmd->add_option("--external-traffic-policy", o->etp, "Cluster | Local")->check(CLI::IsMember({"Cluster", "Local"}));
  cmd->add_option("--session-affinity", o->affinity, "None | ClientIP")->check(CLI::IsMember({"None", "ClientIP"}));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_patch(*o, g); }; });
}

}  // namespace knlab
