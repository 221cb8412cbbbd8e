// kn-lab create deploy <name> --image=<image> [--replicas=N] [--port=P] [-n ns]
// (kubectl create deploy ghost --replicas=3 --image=ghost:4)
// kn-lab create namespace <name> (kubectl create namespace dev)
// kn-lab create service clusterip|nodeport|loadbalancer <name> --tcp=80:8080 [--node-port=N]
// kn-lab create ingress <name> [--class=nginx] --rule="host/path*=svc:80[,tls=secret]"
// kn-lab create secret tls <name> --cert=<file> --key=<file> [-n ns]
// (kubectl create secret tls; a self-signed pair: see docs/ingress-and-gateway.md)
#include "cli/create.hpp"

#include <fmt/core.h>

#include <fstream>
#include <sstream>

#include "cli/change.hpp"
#include "core/text.hpp"
#include "lab/kinds.hpp"
#include "lab/manifest.hpp"
#include "views/printers.hpp"

namespace knlab {

namespace {

Result<std::string> read_pem(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = input_error(SourceLocation{path, 0, 0}, fmt::format("cannot read the file given to {}", flag));
    e.err = errno;
    return fail(std::move(e));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<int> run_create_secret(const CreateOptions& o, const GlobalOptions& g) {
  if (o.name != "tls" || o.extra.empty())
    return fail(input_error(SourceLocation{}, "kn-lab creates TLS secrets only", "kn-lab create secret tls <name> --cert=<file> --key=<file>"));
  if (o.cert.empty() || o.key.empty())
    return fail(input_error(SourceLocation{}, "a TLS secret needs --cert and --key",
                            "make a self-signed pair: openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=example.com "
                            "-addext subjectAltName=DNS:example.com -keyout tls.key -out tls.crt"));
  KN_TRY(check_cli_name(o.extra, "secret"));
  std::string cert = KN_TRY(read_pem(o.cert, "--cert"));
  std::string key = KN_TRY(read_pem(o.key, "--key"));
  std::string yaml = KN_TRY(tls_secret_yaml(o.extra, o.ns, cert, key));
  Manifest m = KN_TRY(parse_manifests(yaml, "secret " + o.extra));
  std::string lab = KN_TRY(lab_to_change(o.lab, "create"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& s : desired.l7.secrets)
      if (s.meta.name == o.extra && s.meta.ns == o.ns)
        return fail(state_error("create secret", fmt::format("secrets \"{}\" already exists", o.extra),
                                "delete it first, or kn-lab apply -f a Secret manifest to replace it"));
    return apply_manifest(desired, m);
  }, verbose_hooks(g)));
  print_change(fmt::format("secret/{} created", o.extra), r);
  return 0;
}

}  // namespace

Result<int> create_object(const views::Json& object, const CreateOptions& o, const GlobalOptions& g) {
  std::string kind = object.value("kind", ""), name = object["metadata"].value("name", "");
  std::string ns = object["metadata"].value("namespace", "");
  Manifest m = KN_TRY(parse_manifests(views::to_yaml(object), fmt::format("kn-lab create {}", lower(kind))));
  const KindInfo& k = *find_kind_exact(kind);
  std::string lab = KN_TRY(lab_to_change(o.lab, "create"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    if (k.exists(desired, ns, name))
      return fail(state_error("create", fmt::format("Error from server (AlreadyExists): {} \"{}\" already exists", k.resource(), name)));
    return apply_manifest(desired, m);
  }, verbose_hooks(g)));
  print_change(fmt::format("{}/{} created", k.qualified(), name), r);
  return 0;
}

namespace {

Result<int> run_create(const CreateOptions& o, const GlobalOptions& g) {
  if (o.kind == "secret") return run_create_secret(o, g);
  if (o.kind == "namespace" || o.kind == "ns") {
    KN_TRY(check_cli_name(o.name, "namespace"));
    return create_object({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", o.name}}}}, o, g);
  }
  if (o.kind == "service" || o.kind == "svc") return create_object(KN_TRY(service_object(o)), o, g);
  if (o.kind == "ingress" || o.kind == "ing") return create_object(KN_TRY(ingress_object(o)), o, g);
  if (o.kind != "deploy" && o.kind != "deployment")
    return fail(input_error(SourceLocation{}, fmt::format("cannot create \"{}\"", o.kind),
                            "kn-lab create deploy|namespace|service|ingress|secret tls (kn-lab create --help)"));
  if (o.image.empty()) return fail(input_error(SourceLocation{}, "--image is required", "kn-lab create deploy <name> --image=<image>"));
  KN_TRY(check_cli_name(o.name, "deployment"));
  std::string lab = KN_TRY(lab_to_change(o.lab, "create"));
  auto r = KN_TRY(lab_change(lab, [&](Lab& desired, PlanMemory&) -> Status {
    for (auto& d : desired.deployments)
      if (d.name == o.name && d.ns == o.ns)
        return fail(state_error("create deployment", fmt::format("deployments.apps \"{}\" already exists", o.name),
                                fmt::format("change it with `kn-lab scale deploy/{} --replicas=N`", o.name)));
    DeploymentSpec d;
    d.name = o.name;
    d.ns = o.ns;
    d.image = o.image;
    d.replicas = o.replicas;
    d.labels = {{"app", o.name}};
    if (o.port > 0) d.port = static_cast<std::uint16_t>(o.port);
    desired.deployments.push_back(std::move(d));
    return {};
  }, verbose_hooks(g)));
  print_change(fmt::format("deployment.apps/{} created", o.name), r);
  return 0;
}

}  // namespace

void register_create(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<CreateOptions>();
  CLI::App* cmd = app.add_subcommand("create", "Create a Deployment, Namespace, Service, Ingress or TLS Secret in a running lab (kubectl create)");
  cmd->add_option("kind", o->kind, "deploy | namespace | service | ingress | secret")->required();
  cmd->add_option("name", o->name, "Name (secret: tls; service: clusterip, nodeport or loadbalancer)")->required();
  cmd->add_option("secret-name", o->extra, "secret tls NAME, service clusterip|nodeport|loadbalancer NAME");
  cmd->add_option("--tcp", o->tcp, "service: PORT[:TARGET_PORT] (repeatable)");
  cmd->add_option("--node-port", o->node_port, "service nodeport: the node port")->check(CLI::Range(30000, 32767));
  cmd->add_option("--class", o->ingress_class, "ingress: its IngressClass");
  cmd->add_option("--rule", o->rules, "ingress: HOST/PATH=SERVICE:PORT[,tls[=SECRET]] (a PATH ending in * is a Prefix; repeatable)");
  cmd->add_option("--image", o->image, "Image (from the catalogue: ghost:4, stefanprodan/podinfo, nginx, alpine, ...)");
  cmd->add_option("--cert", o->cert, "secret tls: PEM certificate file");
  cmd->add_option("--key", o->key, "secret tls: PEM private key file");
  cmd->add_option("--replicas", o->replicas, "Number of pods")->check(CLI::Range(0, 250));
  cmd->add_option("--port", o->port, "Container port (default: the image's)")->check(CLI::Range(1, 65535));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_create(*o, g); }; });
}

}  // namespace knlab
