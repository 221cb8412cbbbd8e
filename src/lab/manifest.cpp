// Documents -> Manifest: the kind and apiVersion of each document (lab/kinds.hpp), its
// metadata, then the kind's reader; a manifest applied to a lab or deleted from it.
#include "lab/manifest.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lab/manifest_read.hpp"
#include "lab/validate.hpp"
#include "lab/values.hpp"

namespace knlab {

std::string ManifestObject::display() const {
  const KindInfo* k = find_kind_exact(kind);
  return (k ? k->qualified() : lower(kind)) + "/" + name;
}

namespace {

struct Session {
  Manifest& m;
  std::map<std::string, SourceLocation> seen;  // kind/ns/name -> where
};

Result<ObjectMeta> read_metadata(const Fields& top, Doc& doc, const KindInfo& info) {
  Fields md = KN_TRY(top.required_object("metadata", "for example metadata: {name: web}"));
  if (md.has("generateName"))
    return fail(md.error("generateName", "metadata.generateName is not supported by kn-lab", "give the object a metadata.name"));
  // What the API server sets: a manifest saved with `kubectl get -o yaml` has them.
  KN_TRY(md.allow({"name", "namespace", "labels", "annotations"},
                  {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "finalizers",
                   "ownerReferences", "deletionTimestamp", "deletionGracePeriodSeconds"}));
  ObjectMeta meta;
  meta.where = at(doc.file, top.mark());
  meta.name = KN_TRY(md.required_string("name", "for example name: web"));
  KN_TRY(check_name(md, "name", meta.name, info.max_name));
  if (info.kind == "Pod" && is_reserved_name(meta.name))
    return fail(md.error("name", fmt::format("metadata.name \"{}\" is reserved for the lab's own infrastructure", meta.name),
                         "reserved: wire, external, router, cloud-lb, host"));
  if (info.kind == "Service" && !(meta.name.front() >= 'a' && meta.name.front() <= 'z'))
    return fail(md.error("name", fmt::format("metadata.name \"{}\" must start with a letter (a Service name is a DNS-1035 label)", meta.name), kNameHint));
  if (info.namespaced) {
    meta.ns = KN_TRY(md.string("namespace")).value_or("default");
    KN_TRY(check_name(md, "namespace", meta.ns));
    doc.label = fmt::format("{} {}/{}", info.kind, meta.ns, meta.name);
  } else {
    meta.ns.clear();  // cluster-scoped: a namespace given is ignored, as the API server does
    doc.label = fmt::format("{} {}", info.kind, meta.name);
  }
  meta.labels = KN_TRY(read_labels(md, "labels"));
  meta.annotations = KN_TRY(md.string_map("annotations"));
  // kn-lab's own facts (kn-lab.io/netns, ...) are written by kn-lab, never read back.
  std::erase_if(meta.annotations, [](const auto& a) { return a.first.starts_with("kn-lab.io/"); });
  for (auto& [k, v] : meta.annotations) {
    (void)v;
    if (!valid_label_key(k))
      return fail(md.doc().error(md.mark_in("annotations", k), fmt::format("metadata.annotations: \"{}\" is not a valid annotation key", k),
                           "at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends, after an optional DNS prefix (example.com/key)"));
  }
  return meta;
}

std::vector<std::string_view> readable_kinds() {
  std::vector<std::string_view> names;
  for (auto& k : kinds())
    if (k.read) names.push_back(k.kind);
  return names;
}

Status read_object(Session& s, const YAML::Node& node, Doc doc, const std::string& path, bool in_list);

Status read_list(Session& s, const Fields& top, const Doc& doc) {
  KN_TRY(top.allow({"apiVersion", "kind", "items"}, {"metadata"}));
  std::size_t i = 0;
  for (const YAML::Node& item : KN_TRY(top.list("items"))) {
    std::string path = fmt::format("{}[{}]", top.path("items"), i++);
    Doc item_doc{doc.file, fmt::format("{} of {}", path, doc.label)};
    KN_TRY(read_object(s, item, std::move(item_doc), path, true));
  }
  return {};
}

Status read_object(Session& s, const YAML::Node& node, Doc doc, const std::string& path, bool in_list) {
  Fields top = KN_TRY(Fields::of(doc, node, path));
  std::string kind = KN_TRY(top.required_string("kind", "for example kind: Deployment"));
  std::string version = KN_TRY(top.required_string("apiVersion", "for example apiVersion: apps/v1"));
  if (kind == "List" && !in_list) {
    if (version != "v1") return fail(top.error("apiVersion", fmt::format("apiVersion \"{}\" is not served for kind List", version), "allowed: v1"));
    return read_list(s, top, doc);
  }
  const KindInfo* info = find_kind_exact(kind);
  if (!info || !info->read) {
    std::vector<std::string_view> names = readable_kinds();
    std::string why = info ? fmt::format("kind {} is made by kn-lab itself, not applied", kind)
                           : fmt::format("kind {} is not supported by kn-lab", kind);
    return fail(top.error("kind", fmt::format("{}; supported: {}", why, join(names)),
                          did_you_mean(kind, names) + "kn-lab builds pods, Deployments and Services, and serves Ingress and Gateway API objects"));
  }
  doc.label = std::string(info->kind);
  if (std::none_of(info->versions.begin(), info->versions.end(), [&](std::string_view v) { return info->api_version(v) == version; })) {
    std::vector<std::string> allowed;
    for (auto v : info->versions) allowed.push_back(info->api_version(v));
    return fail(top.error("apiVersion", fmt::format("apiVersion \"{}\" is not served for kind {}", version, kind), "allowed: " + join(allowed)));
  }
  ObjectMeta meta = KN_TRY(read_metadata(top, doc, *info));
  if (info->kind == "Secret")
    KN_TRY(top.allow({"apiVersion", "kind", "metadata", "type", "data", "stringData"}, {"immutable"}));
  else
    KN_TRY(top.allow({"apiVersion", "kind", "metadata", "spec"}, {"status"}));
  std::string identity = fmt::format("{}/{}/{}", info->kind, meta.ns, meta.name);
  if (auto [it, fresh] = s.seen.emplace(identity, meta.where); !fresh)
    return fail(input_error(meta.where, fmt::format("{}: defined twice (same kind, metadata.namespace and metadata.name)", doc.label),
                            fmt::format("the first is at {}; each object is defined once", it->second.str())));
  meta.yaml = canonical_yaml(node);
  ManifestObject obj{std::string(info->kind), std::string(info->group), meta.ns, meta.name, meta.where};
  Reading r{*info, top, std::move(meta), s.m};
  KN_TRY(info->read(r));
  s.m.objects.push_back(std::move(obj));
  return {};
}

Status parse_into(Session& s, std::string_view text, const std::string& file) {
  if (auto e = check_text(text, file)) return fail(std::move(*e));
  try {
    std::string owned(text);
    KN_TRY(check_progress(owned, file));
    std::vector<YAML::Node> docs = YAML::LoadAll(owned);
    std::size_t index = 0;
    for (const YAML::Node& node : docs) {
      ++index;
      if (node.IsNull()) continue;  // comments only, or an empty document between separators
      std::size_t count = 0;
      std::string label = fmt::format("document {}", index);
      KN_TRY(check_tree(node, 0, count, file, label, ""));
      KN_TRY(read_object(s, node, Doc{file, label}, "", false));
    }
  } catch (const YAML::Exception& e) {
    return fail(input_error(at(file, e.mark), fmt::format("YAML syntax error: {}", e.msg.empty() ? std::string(e.what()) : e.msg)));
  }
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = input_error(SourceLocation{path, 0, 0}, "cannot read the manifest", "give a path to a .yaml file or a directory of them");
    e.err = errno;
    return fail(std::move(e));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class T>
bool same_object(const T& a, const T& b) {
  return a.meta.ns == b.meta.ns && a.meta.name == b.meta.name;
}
bool same_object(const L4RouteSpec& a, const L4RouteSpec& b) {
  return a.protocol == b.protocol && a.meta.ns == b.meta.ns && a.meta.name == b.meta.name;
}

template <class T>
void put(std::vector<T>& into, const T& x) {
  auto it = std::find_if(into.begin(), into.end(), [&](const T& y) { return same_object(y, x); });
  if (it != into.end()) *it = x;
  else into.push_back(x);
}

}  // namespace

Result<Manifest> parse_manifests(std::string_view text, std::string source_name) {
  Manifest m;
  Session s{m, {}};
  KN_TRY(parse_into(s, text, source_name));
  return m;
}

Result<Manifest> load_manifests(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    if (ec) {
      Error e = input_error(SourceLocation{path, 0, 0}, "cannot list the manifest directory");
      e.err = ec.value();
      return fail(std::move(e));
    }
    if (files.empty())
      return fail(input_error(SourceLocation{path, 0, 0}, "the directory has no *.yaml or *.yml file", "give a manifest file or a directory of them"));
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  Manifest m;
  Session s{m, {}};
  for (auto& f : files) {
    std::string text = KN_TRY(read_file(f));
    KN_TRY(parse_into(s, text, f));
  }
  return m;
}

Status apply_manifest(Lab& lab, const Manifest& m) {
  Lab next = lab;
  std::vector<std::string_view> node_names;
  for (auto& n : next.nodes) node_names.push_back(n.name);
  auto has_node = [&](const std::string& n) { return std::find(node_names.begin(), node_names.end(), n) != node_names.end(); };
  for (const PodSpec& given : m.pods) {
    PodSpec p = given;
    auto existing = std::find_if(next.pods.begin(), next.pods.end(), [&](const PodSpec& x) { return x.ns == p.ns && x.name == p.name; });
    if (p.node.empty() && existing != next.pods.end() && has_node(existing->node)) {
      p.node = existing->node;  // replaced in place: it stays where it is
    } else if (p.node.empty()) {
      if (next.nodes.empty())
        return fail(input_error(p.where, fmt::format("Pod {}/{}: the lab has no node to run it on", p.ns, p.name), "add a [[node]] to the lab"));
      std::size_t best = 0, best_count = SIZE_MAX;
      for (std::size_t i = 0; i < next.nodes.size(); ++i) {
        auto count = static_cast<std::size_t>(std::count_if(next.pods.begin(), next.pods.end(), [&](const PodSpec& x) {
          return x.node == next.nodes[i].name && !(x.ns == p.ns && x.name == p.name);
        }));
        if (count < best_count) best = i, best_count = count;
      }
      p.node = next.nodes[best].name;
    } else if (!has_node(p.node)) {
      return fail(input_error(p.where, fmt::format("Pod {}/{}: spec.nodeName \"{}\" is not a node of the lab", p.ns, p.name, p.node),
                              fmt::format("nodes of this lab: {} (or leave nodeName out: the pod goes to the node with the fewest pods)",
                                          join(node_names))));
    }
    if (existing != next.pods.end()) *existing = std::move(p);
    else next.pods.push_back(std::move(p));
  }
  for (const DeploymentSpec& d : m.deployments) {
    auto it = std::find_if(next.deployments.begin(), next.deployments.end(), [&](const DeploymentSpec& x) { return x.ns == d.ns && x.name == d.name; });
    if (it != next.deployments.end()) *it = d;
    else next.deployments.push_back(d);
  }
  for (const ServiceSpec& sv : m.services) {
    auto it = std::find_if(next.services.begin(), next.services.end(), [&](const ServiceSpec& x) { return x.ns == sv.ns && x.name == sv.name; });
    if (it != next.services.end()) *it = sv;
    else next.services.push_back(sv);
  }
  // Each object replaces the one of its kind, namespace and name (a TCPRoute and a UDPRoute of
  // one name are two objects).
  auto merge = [&](auto& into, const auto& from) {
    for (auto& x : from) put(into, x);
  };
  merge(next.l7.namespaces, m.l7.namespaces), merge(next.l7.secrets, m.l7.secrets);
  merge(next.l7.ingress_classes, m.l7.ingress_classes), merge(next.l7.ingresses, m.l7.ingresses);
  merge(next.l7.gateway_classes, m.l7.gateway_classes), merge(next.l7.gateways, m.l7.gateways);
  merge(next.l7.http_routes, m.l7.http_routes), merge(next.l7.l4_routes, m.l7.l4_routes);
  merge(next.l7.reference_grants, m.l7.reference_grants), merge(next.l7.network_policies, m.l7.network_policies);
  KN_TRY(validate(next));
  lab = std::move(next);
  return {};
}

void delete_manifest(Lab& lab, const Manifest& m, std::vector<std::string>& missing) {
  // Objects first, then namespaces: deleting a namespace deletes what is in it, which must not
  // make the objects named after it in the same manifest look missing.
  for (const ManifestObject& o : m.objects)
    if (o.kind != "Namespace" && !find_kind_exact(o.kind)->remove(lab, o.ns, o.name)) missing.push_back(o.display());
  for (const ManifestObject& o : m.objects)
    if (o.kind == "Namespace" && !kind_info(Kind::kNamespace).remove(lab, o.ns, o.name)) missing.push_back(o.display());
}

std::string l7_yaml(const L7Objects& l7) {
  std::string out;
  l7.each([&](const auto& items) {
    for (auto& x : items) {
      if (x.meta.yaml.empty()) continue;
      if (!out.empty()) out += "---\n";
      out += x.meta.yaml;
      if (out.back() != '\n') out += '\n';
    }
  });
  return out;
}

Result<std::string> tls_secret_yaml(const std::string& name, const std::string& ns, const std::string& cert_pem,
                                    const std::string& key_pem) {
  SourceLocation where{"kn-lab create secret tls", 0, 0};
  if (auto problem = check_label(name, kMaxObjectNameLength))
    return fail(input_error(where, fmt::format("Secret name \"{}\" {}", name, *problem), kNameHint));
  if (auto problem = check_label(ns, kMaxObjectNameLength))
    return fail(input_error(where, fmt::format("namespace \"{}\" {}", ns, *problem), kNameHint));
  if (auto problem = check_pem_certificate(cert_pem))
    return fail(input_error(where, fmt::format("the certificate is {}", *problem), "give the certificate file in PEM (openssl x509 -outform PEM)"));
  if (auto problem = check_pem_private_key(key_pem))
    return fail(input_error(where, fmt::format("the key is {}", *problem), "give the private key file in PEM, unencrypted"));
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key << "kind" << YAML::Value << "Secret";
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  emit_string(out, name);
  out << YAML::Key << "namespace" << YAML::Value;
  emit_string(out, ns);
  out << YAML::EndMap;
  out << YAML::Key << "type" << YAML::Value << "kubernetes.io/tls";
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "tls.crt" << YAML::Value;
  emit_string(out, base64_encode(cert_pem));
  out << YAML::Key << "tls.key" << YAML::Value;
  emit_string(out, base64_encode(key_pem));
  out << YAML::EndMap << YAML::EndMap;
  return finish(out);
}

}  // namespace knlab