// kubectl patch's three types on API objects (kube/patch), and the label changes of `label`
// and `annotate` (cli/labels).
#include <doctest/doctest.h>

#include "cli/labels.hpp"
#include "kube/patch.hpp"

using namespace knlab;
using kube::Json;
using kube::PatchType;

namespace {

Json service() {
  return Json::parse(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "uid": "u", "creationTimestamp": "t",
                 "labels": {"app": "web"}, "annotations": {"kn-lab.io/x": "1", "note": "n"}},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"], "ipFamilies": ["IPv4"],
             "externalTrafficPolicy": "Cluster", "selector": {"app": "web"},
             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
                       {"name": "https", "port": 443, "targetPort": 8443, "nodePort": 30443}]},
    "status": {"loadBalancer": {}}})");
}

}  // namespace

TEST_CASE("merge patch: maps merge, lists are replaced, null deletes (RFC 7386)") {
  auto out = kube::apply_patch(service(), Json::parse(R"({"spec": {"type": "ClusterIP", "ports": [{"port": 81}], "selector": {"app": null, "tier": "x"}}})"),
                               PatchType::kMerge);
  REQUIRE(out);
  CHECK((*out)["spec"]["type"] == "ClusterIP");
  CHECK((*out)["spec"]["ports"] == Json::parse(R"([{"port": 81}])"));
  CHECK((*out)["spec"]["selector"] == Json::parse(R"({"tier": "x"})"));
  CHECK((*out)["spec"]["clusterIP"] == "10.96.0.5");
}

TEST_CASE("strategic merge patch: ports merge by port, $patch: delete removes one") {
  auto out = kube::apply_patch(service(), Json::parse(R"({"spec": {"ports": [{"port": 443, "nodePort": 31443}, {"port": 9000, "name": "m"}]}})"),
                               PatchType::kStrategic);
  REQUIRE(out);
  const Json& ports = (*out)["spec"]["ports"];
  REQUIRE(ports.size() == 3);
  CHECK(ports[0]["nodePort"] == 30080);
  CHECK(ports[1]["nodePort"] == 31443);
  CHECK(ports[1]["targetPort"] == 8443);  // the element merged, not replaced
  CHECK(ports[2]["name"] == "m");
  auto removed = kube::apply_patch(service(), Json::parse(R"({"spec": {"ports": [{"port": 80, "$patch": "delete"}]}})"), PatchType::kStrategic);
  REQUIRE(removed);
  REQUIRE((*removed)["spec"]["ports"].size() == 1);
  CHECK((*removed)["spec"]["ports"][0]["port"] == 443);
}

TEST_CASE("strategic merge patch: containers by name, their ports by containerPort") {
  Json d = Json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "g"},
    "spec": {"template": {"spec": {"containers": [{"name": "ghost", "image": "ghost:4", "ports": [{"containerPort": 2368}]}]}}}})");
  auto out = kube::apply_patch(d, Json::parse(R"({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "ghost", "image": "ghost:5"}]}}}})"),
                               PatchType::kStrategic);
  REQUIRE(out);
  CHECK((*out)["spec"]["replicas"] == 3);
  const Json& c = (*out)["spec"]["template"]["spec"]["containers"];
  REQUIRE(c.size() == 1);
  CHECK(c[0]["image"] == "ghost:5");
  CHECK(c[0]["ports"][0]["containerPort"] == 2368);
}

TEST_CASE("JSON patch (RFC 6902), and its errors") {
  auto out = kube::apply_patch(service(), Json::parse(R"([{"op": "replace", "path": "/spec/type", "value": "LoadBalancer"},
                                                          {"op": "remove", "path": "/spec/ports/1"}])"),
                               PatchType::kJson);
  REQUIRE(out);
  CHECK((*out)["spec"]["type"] == "LoadBalancer");
  CHECK((*out)["spec"]["ports"].size() == 1);
  auto bad = kube::apply_patch(service(), Json::parse(R"([{"op": "remove", "path": "/spec/nothing"}])"), PatchType::kJson);
  REQUIRE(!bad);
  CHECK(bad.error().detail.find("the JSON patch does not apply") != std::string::npos);
  auto not_a_list = kube::apply_patch(service(), Json::parse(R"({"spec": {}})"), PatchType::kJson);
  REQUIRE(!not_a_list);
  CHECK(not_a_list.error().detail == "a JSON patch is a list of operations");
}

TEST_CASE("custom resources refuse a strategic merge patch, as the API server does") {
  Json gw = Json::parse(R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "g"}, "spec": {}})");
  auto out = kube::apply_patch(gw, Json::parse(R"({"spec": {"gatewayClassName": "eg"}})"), PatchType::kStrategic);
  REQUIRE(!out);
  CHECK(out.error().detail.find("application/strategic-merge-patch+json is not supported by gateway.networking.k8s.io/v1, Kind=Gateway") == 0);
  CHECK(out.error().hint == "give --type=merge (or --type=json)");
  CHECK(kube::apply_patch(gw, Json::parse(R"({"spec": {"gatewayClassName": "eg"}})"), PatchType::kMerge));
}

TEST_CASE("a patch is JSON or YAML; the patch type is one of kubectl's") {
  auto yaml = kube::parse_patch("spec:\n  type: NodePort\n", "-p");
  REQUIRE(yaml);
  CHECK(*yaml == Json::parse(R"({"spec": {"type": "NodePort"}})"));
  CHECK(kube::parse_patch(R"({"spec":{"replicas":3}})", "-p").value()["spec"]["replicas"] == 3);
  CHECK(!kube::parse_patch("just text", "-p"));
  CHECK(!kube::parse_patch("[1", "-p"));
  CHECK(kube::parse_patch_type("merge").value() == PatchType::kMerge);
  CHECK(!kube::parse_patch_type("apply"));
}

TEST_CASE("as_manifest: what the API server sets goes, and what a ClusterIP type makes void") {
  Json m = kube::as_manifest(service());
  CHECK(!m.contains("status"));
  CHECK(m["metadata"] == Json::parse(R"({"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {"note": "n"}})"));
  CHECK(!m["spec"].contains("clusterIPs"));
  CHECK(m["spec"]["ports"][0]["nodePort"] == 30080);
  Json c = service();
  c["spec"]["type"] = "ClusterIP";
  Json cm = kube::as_manifest(c);
  CHECK(!cm["spec"].contains("externalTrafficPolicy"));
  CHECK(!cm["spec"]["ports"][0].contains("nodePort"));
  CHECK(cm["spec"]["clusterIP"] == "10.96.0.5");
}

TEST_CASE("label changes: KEY=VALUE sets, KEY- removes, --overwrite for another value") {
  auto edit = parse_map_edit({"app=web", "tier-", "example.com/team=blue"}, true);
  REQUIRE(edit);
  CHECK(edit->set == StringMap{{"app", "web"}, {"example.com/team", "blue"}});
  CHECK(edit->remove == std::vector<std::string>{"tier"});
  StringMap labels{{"app", "api"}, {"tier", "front"}};
  auto refused = apply_map_edit(labels, *edit, false);
  REQUIRE(!refused);
  CHECK(refused.error().detail == "'app' already has a value (api), and --overwrite is false");
  CHECK(labels == StringMap{{"app", "api"}, {"tier", "front"}});
  CHECK(apply_map_edit(labels, *edit, true).value());
  CHECK(labels == StringMap{{"app", "web"}, {"example.com/team", "blue"}});
  CHECK(!apply_map_edit(labels, *edit, true).value());  // nothing changed the second time
  CHECK(!parse_map_edit({"app"}, true));
  CHECK(!parse_map_edit({"app=has space"}, true));
  CHECK(parse_map_edit({"note=has space"}, false));  // an annotation takes any text
  CHECK(!parse_map_edit({}, true));
  CHECK(parse_label_map("a=b,c=d", "--labels").value() == StringMap{{"a", "b"}, {"c", "d"}});
  CHECK(!parse_label_map("a", "--labels"));
}
