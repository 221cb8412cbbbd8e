// The readers of Namespace, Pod, Deployment, Service and Secret: they become the lab's own pods,
// deployments and services (lab/model.hpp), and TLS Secrets.
#include <set>

#include "core/ip.hpp"
#include "lab/manifest_read.hpp"
#include "lab/validate.hpp"
#include "lab/values.hpp"

namespace knlab {

namespace {

// A container of a Pod or of a Deployment's template: its image and first containerPort.
struct ContainerImage {
  std::string image;
  std::optional<std::uint16_t> port;
  std::vector<ContainerPort> ports;
};

Result<ContainerImage> read_containers(const Fields& spec) {
  std::vector<Fields> items = KN_TRY(spec.objects("containers"));
  if (items.empty()) return fail(spec.missing("containers", "add one container:\n    containers:\n    - name: web\n      image: nginx"));
  if (items.size() > 1)
    return fail(spec.doc().error(items[1].mark(),
                                 fmt::format("{} has {} containers: a manifest gives one image per pod", spec.path("containers"), items.size()),
                                 "keep one container here; multi-container pods are written in a lab file ([[pod]] with "
                                 "[[pod.container]] tables, each a command)"));
  const Fields& c = items.front();
  KN_TRY(c.allow({"name", "image", "ports", "command", "args", "imagePullPolicy"},
                 {"resources", "terminationMessagePath", "terminationMessagePolicy"}));
  ContainerImage out;
  KN_TRY(required_name(c, "name", "for example name: web"));
  out.image = KN_TRY(c.required_string("image", "for example image: nginx (data/images.toml lists what a lab can run)"));
  if (!valid_image(out.image))
    return fail(c.error("image", fmt::format("{} \"{}\" is not a valid image reference", c.path("image"), out.image),
                        "like \"ghost:4\" or \"stefanprodan/podinfo\" (data/images.toml lists what a lab can run)"));
  // The image's own behaviour runs: command and args are accepted (they are usual in
  // manifests) but the image catalogue decides what the container does.
  KN_TRY(c.strings("command"));
  KN_TRY(c.strings("args"));
  KN_TRY(c.choice("imagePullPolicy", {"Always", "IfNotPresent", "Never"}, "IfNotPresent"));
  std::set<std::string> port_names;
  for (const Fields& p : KN_TRY(c.objects("ports"))) {
    KN_TRY(p.allow({"containerPort", "name", "protocol"}));
    auto port = KN_TRY(p.port("containerPort"));
    if (!port) return fail(p.missing("containerPort", "for example containerPort: 80"));
    if (!out.port) out.port = port;
    ContainerPort cp{"", *port, "TCP"};
    if (auto name = KN_TRY(p.string("name"))) {
      KN_TRY(check_name(p, "name", *name, 15));
      if (!port_names.insert(*name).second) return fail(p.error("name", fmt::format("{} \"{}\" is used twice", p.path("name"), *name)));
      cp.name = *name;
    }
    cp.protocol = KN_TRY(p.choice("protocol", {"TCP", "UDP"}, "TCP"));
    out.ports.push_back(std::move(cp));
  }
  return out;
}

}  // namespace

Status read_pod(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Pod needs spec.containers"));
  KN_TRY(spec.allow({"containers", "nodeName"},
                    {"dnsPolicy", "restartPolicy", "terminationGracePeriodSeconds", "enableServiceLinks", "schedulerName"}));
  PodSpec p;
  p.name = r.meta.name;
  p.ns = r.meta.ns;
  p.labels = r.meta.labels;
  p.where = r.meta.where;
  p.node = KN_TRY(optional_name(spec, "nodeName"));
  ContainerImage c = KN_TRY(read_containers(spec));
  p.image = c.image;
  p.ports = c.ports;
  r.m.pods.push_back(std::move(p));
  return {};
}

Status read_deployment(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Deployment needs spec.selector and spec.template"));
  KN_TRY(spec.allow({"replicas", "selector", "template"}, {"strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds"}));
  DeploymentSpec d;
  d.name = r.meta.name;
  d.ns = r.meta.ns;
  d.where = r.meta.where;
  if (auto n = KN_TRY(spec.integer("replicas", 0, 250))) d.replicas = static_cast<int>(*n);
  Fields selector = KN_TRY(spec.required_object("selector", "for example selector: {matchLabels: {app: web}}"));
  KN_TRY(selector.allow({"matchLabels"}));
  auto match = KN_TRY(read_labels(selector, "matchLabels"));
  if (match.empty())
    return fail(selector.missing("matchLabels", "a Deployment selects its pods by labels: matchLabels: {app: web}, the same in spec.template.metadata.labels"));
  Fields tpl = KN_TRY(spec.required_object("template", "the pods' template: metadata.labels and spec.containers"));
  KN_TRY(tpl.allow({"metadata", "spec"}));
  Fields tmeta = KN_TRY(tpl.object("metadata"));
  KN_TRY(tmeta.allow({"labels", "annotations"}, {"creationTimestamp"}));
  d.labels = KN_TRY(read_labels(tmeta, "labels"));
  KN_TRY(tmeta.string_map("annotations"));
  for (auto& [k, v] : match) {
    auto it = d.labels.find(k);
    if (it == d.labels.end() || it->second != v)
      return fail(spec.error("selector", fmt::format("spec.template.metadata.labels {}: `selector` {} does not match template `labels`",
                                                     labels_str(d.labels), labels_str(match)),
                             "every label of spec.selector.matchLabels must be in spec.template.metadata.labels, with the same value"));
  }
  Fields tspec = KN_TRY(tpl.required_object("spec", "the pods' spec: containers"));
  KN_TRY(tspec.allow({"containers"}, {"dnsPolicy", "restartPolicy", "terminationGracePeriodSeconds", "enableServiceLinks", "schedulerName"}));
  ContainerImage c = KN_TRY(read_containers(tspec));
  d.image = c.image;
  d.port = c.port;
  d.ports = c.ports;
  r.m.deployments.push_back(std::move(d));
  return {};
}

namespace {

// One entry of spec.ports (lab/validate checks names, duplicates and node ports).
Result<ServicePortSpec> read_service_port(const Fields& p) {
  KN_TRY(p.allow({"name", "protocol", "port", "targetPort", "nodePort"}, {"appProtocol"}));
  const std::string& file = p.doc().file;
  ServicePortSpec sp;
  sp.where = at(file, p.mark());
  sp.name = KN_TRY(p.string("name")).value_or("");
  sp.name_where = at(file, p.mark_of("name"));
  sp.protocol = KN_TRY(p.choice("protocol", {"TCP", "UDP"}, "TCP"));
  auto port = KN_TRY(p.port("port"));
  if (!port) return fail(p.missing("port", "for example port: 80"));
  sp.port = *port;
  // targetPort is an int-or-string in Kubernetes: a string with a letter names a container port.
  if (const YAML::Node* tp = p.get("targetPort")) {
    bool named = tp->IsScalar() && std::any_of(tp->Scalar().begin(), tp->Scalar().end(), [](char c) {
                   return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                 });
    if (named)
      return fail(p.error("targetPort", fmt::format("{} \"{}\" is a named port: named target ports are not supported by kn-lab", p.path("targetPort"), tp->Scalar()),
                          "give the container's port number (for example targetPort: 8080)"));
  }
  sp.target_port = KN_TRY(p.port("targetPort")).value_or(sp.port);
  sp.node_port = KN_TRY(p.port("nodePort", 30000, 32767));
  sp.node_port_where = at(file, p.mark_of("nodePort"));
  return sp;
}

}  // namespace

Status read_service(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Service needs spec.ports"));
  KN_TRY(spec.allow({"type", "selector", "ports", "sessionAffinity", "externalTrafficPolicy", "internalTrafficPolicy", "clusterIP", "clusterIPs"},
                    // What the API server fills in: a Service saved with `get -o yaml` has them.
                    {"ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "sessionAffinityConfig"}));
  ServiceSpec s;
  s.name = r.meta.name;
  s.ns = r.meta.ns;
  s.where = r.meta.where;
  s.labels = r.meta.labels;
  std::string type = KN_TRY(spec.choice("type", {"ClusterIP", "NodePort", "LoadBalancer"}, "ClusterIP"));
  s.type = type == "NodePort" ? ServiceType::kNodePort : type == "LoadBalancer" ? ServiceType::kLoadBalancer : ServiceType::kClusterIP;
  s.selector = KN_TRY(read_labels(spec, "selector"));
  std::vector<Fields> items = KN_TRY(spec.objects("ports"));
  if (items.empty()) return fail(spec.missing("ports", "for example ports: [{port: 80, targetPort: 8080}]"));
  std::vector<ServicePortSpec> ports;
  for (const Fields& p : items) ports.push_back(KN_TRY(read_service_port(p)));
  s.ports = std::move(ports);
  s.session_affinity = KN_TRY(spec.choice("sessionAffinity", {"None", "ClientIP"}, "None")) == "ClientIP";
  s.local_traffic_policy = KN_TRY(spec.choice("externalTrafficPolicy", {"Cluster", "Local"}, "Cluster")) == "Local";
  s.traffic_policy_where = at(spec.doc().file, spec.mark_of("externalTrafficPolicy"));
  KN_TRY(spec.choice("internalTrafficPolicy", {"Cluster"}, "Cluster"));
  if (auto ip = KN_TRY(spec.string("clusterIP")); ip && !ip->empty()) {
    if (*ip == "None")
      return fail(spec.error("clusterIP", "spec.clusterIP \"None\" (a headless Service) is not supported by kn-lab",
                             "remove clusterIP: the Service gets an address from the service CIDR"));
    auto parsed = Ipv4::parse(*ip);
    if (!parsed) return fail(spec.error("clusterIP", fmt::format("spec.clusterIP \"{}\" is not an IPv4 address", *ip)));
    s.cluster_ip = *parsed;
    s.cluster_ip_where = at(spec.doc().file, spec.mark_of("clusterIP"));
  }
  std::size_t i = 0;
  for (auto& [ip, mark] : KN_TRY(spec.strings("clusterIPs"))) {
    if (i++ > 0 || (s.cluster_ip ? ip != s.cluster_ip->str() : true))
      return fail(spec.doc().error(mark, fmt::format("spec.clusterIPs[{}] \"{}\" must repeat spec.clusterIP (kn-lab is IPv4 single-stack)", i - 1, ip)));
  }
  KN_TRY(validate_service(s));
  r.m.services.push_back(std::move(s));
  return {};
}

Status read_secret(Reading& r) {
  const Fields& top = r.top;
  SecretSpec s;
  auto type = KN_TRY(top.string("type"));
  if (type != "kubernetes.io/tls")
    return fail(top.error("type", type ? fmt::format("type \"{}\" is not supported: kn-lab reads TLS Secrets", *type)
                                       : "type is not set (Opaque): kn-lab reads TLS Secrets",
                          "allowed: type: kubernetes.io/tls with data tls.crt and tls.key (kn-lab create secret tls NAME --cert FILE --key FILE)"));
  s.type = *type;
  struct Value {
    std::string text, path;
    YAML::Mark mark;
  };
  std::map<std::string, Value> values;
  for (auto& [k, v] : KN_TRY(top.string_map("data"))) {
    auto decoded = base64_decode(v);
    if (!decoded)
      return fail(top.doc().error(top.mark_in("data", k), fmt::format("data[{}] is not valid base64", k),
                                  "data values are base64 (stringData takes plain text)"));
    values[k] = Value{*decoded, fmt::format("data[{}]", k), top.mark_in("data", k)};
  }
  for (auto& [k, v] : KN_TRY(top.string_map("stringData"))) values[k] = Value{v, fmt::format("stringData[{}]", k), top.mark_in("stringData", k)};
  for (auto& [k, v] : values) {
    bool ok = !k.empty() && k.size() <= 253 && std::all_of(k.begin(), k.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
    if (!ok) return fail(top.doc().error(v.mark, fmt::format("{}: \"{}\" is not a valid Secret key", v.path, k), "keys: [-._a-zA-Z0-9]+"));
  }
  for (std::string_view key : {"tls.crt", "tls.key"}) {
    auto it = values.find(std::string(key));
    if (it == values.end())
      return fail(top.error(top.has("data") ? "data" : top.has("stringData") ? "stringData" : "type",
                            fmt::format("data[{}] is required in a Secret of type kubernetes.io/tls", key),
                            "a TLS Secret has data tls.crt (the certificate, PEM) and tls.key (its private key, PEM)"));
    const Value& v = it->second;
    auto problem = key == "tls.crt" ? check_pem_certificate(v.text) : check_pem_private_key(v.text);
    if (problem)
      return fail(top.doc().error(v.mark, fmt::format("{}: {}", v.path, *problem),
                                  key == "tls.crt" ? "the certificate in PEM (openssl x509 -outform PEM)" : "the private key in PEM, unencrypted"));
    (key == "tls.crt" ? s.cert_pem : s.key_pem) = v.text;
  }
  s.meta = std::move(r.meta);
  r.m.l7.secrets.push_back(std::move(s));
  return {};
}
Status read_namespace(Reading& r) {
  Fields spec = KN_TRY(r.top.object("spec"));
  KN_TRY(spec.allow({}, {"finalizers"}));
  r.m.l7.namespaces.push_back(NamespaceSpec{std::move(r.meta)});
  return {};
}

}  // namespace knlab
