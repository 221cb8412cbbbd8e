// lab/validate: one rule, one message, in TOML and in YAML, at the place the user wrote it;
// lab/kinds: the one registry of kinds.
#include <doctest/doctest.h>

#include <string>

#include "lab/kinds.hpp"
#include "lab/loader.hpp"
#include "lab/manifest.hpp"

using namespace knlab;

namespace {

const std::string kLab = "[lab]\nname = \"v\"\n\n[[node]]\nname = \"node1\"\n\n[[service]]\nname = \"web\"\n";

Error toml_error(const std::string& service_keys) {
  auto r = parse_lab(kLab + service_keys, "v.toml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().where.file == "v.toml");
  return r.error();
}

// A Service manifest applied to the lab above without its [[service]].
Error yaml_error(const std::string& spec) {
  auto lab = parse_lab("[lab]\nname = \"v\"\n\n[[node]]\nname = \"node1\"\n", "v.toml");
  REQUIRE(lab.has_value());
  std::string text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n" + spec;
  auto m = parse_manifests(text, "web.yaml");
  if (!m) return m.error();
  auto st = apply_manifest(*lab, *m);
  REQUIRE_FALSE(st.has_value());
  return st.error();
}

}  // namespace

TEST_CASE("a Service port name: the same rule and message in a lab file and in a manifest") {
  std::string long_name(64, 'a');
  Error t = toml_error("ports = [{ name = \"" + long_name + "\", port = 80 }]\n");
  Error y = yaml_error("  ports:\n  - name: " + long_name + "\n    port: 80\n");
  CHECK(t.detail == y.detail);
  CHECK(t.detail.find("Service default/web: port name \"" + long_name + "\"") == 0);
  CHECK(t.where.line == 9);
  CHECK(y.where.file == "web.yaml");
  CHECK(y.where.line == 7);
  CHECK(y.where.column == 11);
  // 16 to 63 characters: a DNS label, accepted by both (a container port's name is the one
  // limited to 15, as Kubernetes' IANA_SVC_NAME).
  std::string mid(20, 'b');
  CHECK(parse_lab(kLab + "ports = [{ name = \"" + mid + "\", port = 80 }]\n", "v.toml").has_value());
  CHECK(parse_manifests("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: " + mid + "\n    port: 80\n",
                        "web.yaml").has_value());
}

TEST_CASE("a cluster IP outside the service CIDR, reserved or taken: the same message in both formats") {
  Error t = toml_error("port = 80\ncluster_ip = \"10.200.0.5\"\n");
  Error y = yaml_error("  clusterIP: 10.200.0.5\n  ports:\n  - port: 80\n");
  CHECK(t.detail == y.detail);
  CHECK(t.detail == "Service default/web: cluster IP 10.200.0.5 is not a host address of the service CIDR 10.96.0.0/12");
  CHECK(t.where.line == 10);
  CHECK(t.where.column == 14);
  CHECK(y.where.line == 6);
  CHECK(y.where.column == 14);
  Error tr = toml_error("port = 80\ncluster_ip = \"10.96.0.10\"\n");
  Error yr = yaml_error("  clusterIP: 10.96.0.10\n  ports:\n  - port: 80\n");
  CHECK(tr.detail == yr.detail);
  CHECK(tr.detail == "Service default/web: cluster IP 10.96.0.10 is reserved");
  Error dup = toml_error("port = 80\ncluster_ip = \"10.96.0.20\"\n\n[[service]]\nname = \"api\"\nport = 80\ncluster_ip = \"10.96.0.20\"\n");
  CHECK(dup.detail == "Service default/api: cluster IP 10.96.0.20 is already used by Service default/web");
  CHECK(dup.where.line == 15);
}

TEST_CASE("a node port taken by another Service, from a manifest: reported at the manifest's nodePort") {
  auto lab = parse_lab(kLab + "type = \"NodePort\"\nport = 80\nnode_port = 30080\n", "v.toml");
  REQUIRE(lab.has_value());
  auto m = parse_manifests("apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  type: NodePort\n  ports:\n"
                           "  - port: 80\n    nodePort: 30080\n", "api.yaml");
  REQUIRE(m.has_value());
  Lab before = *lab;
  auto st = apply_manifest(*lab, *m);
  REQUIRE_FALSE(st.has_value());
  CHECK(st.error().detail == "Service default/api: node port 30080 is already used by Service default/web");
  CHECK(st.error().where.file == "api.yaml");
  CHECK(st.error().where.line == 9);
  CHECK(lab->services.size() == before.services.size());  // nothing changed
}

TEST_CASE("the registry of kinds: every kind once, kubectl's names") {
  for (const KindInfo& k : kinds()) {
    CHECK(&kind_info(k.id) == &k);
    CHECK(find_kind(k.kind) == &k);
    CHECK(find_kind(k.plural) == &k);
    CHECK(find_kind(k.resource()) == &k);
    for (auto s : k.short_names) CHECK(find_kind(s) == &k);
    CHECK((k.read == nullptr) == (k.exists == nullptr));
  }
  CHECK(find_kind("po")->id == Kind::kPod);
  CHECK(find_kind("deploy")->id == Kind::kDeployment);
  CHECK(find_kind("deployments.apps")->id == Kind::kDeployment);
  CHECK(find_kind("GTW")->id == Kind::kGateway);
  CHECK(find_kind("no")->id == Kind::kNode);
  CHECK(find_kind("pdos") == nullptr);
  CHECK(kind_info(Kind::kIngress).qualified() == "ingress.networking.k8s.io");
  CHECK(kind_info(Kind::kService).resource() == "services");
  CHECK(kind_info(Kind::kHTTPRoute).api_version() == "gateway.networking.k8s.io/v1");
  CHECK(kind_info(Kind::kReferenceGrant).api_version() == "gateway.networking.k8s.io/v1beta1");
}
