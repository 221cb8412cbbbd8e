#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <string>

#include "views/age.hpp"
#include "views/printers.hpp"

using namespace knlab;
using namespace knlab::views;

namespace {

const Json& pod() {
  static const Json j = Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"},
                 "annotations": {"deployment.kubernetes.io/revision": "1"},
                 "creationTimestamp": "2026-12-05T07:51:12Z", "resourceVersion": ""},
    "spec": {"containers": [{"name": "web", "image": "nginx", "args": [],
                             "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}]}],
             "nodeSelector": {}},
    "status": {"podIP": "10.244.1.5"}})");
  return j;
}

// yaml-cpp's reading of kn-lab's YAML, as JSON: quoted scalars are strings, plain ones resolved.
Json to_json_value(const YAML::Node& n) {
  if (n.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json_value(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const auto& item : n) a.push_back(to_json_value(item));
    return a;
  }
  if (n.IsNull()) return nullptr;
  const std::string s = n.as<std::string>();
  if (n.Tag() != "?") return s;
  if (s == "true" || s == "false") return s == "true";
  if (s == "null" || s == "~") return nullptr;
  const Json number = Json::parse(s, nullptr, false);
  return number.is_number() ? number : Json(s);
}

Json round_trip(const Json& j) { return to_json_value(YAML::Load(to_yaml(j))); }

}  // namespace

TEST_CASE("AGE is apimachinery's HumanDuration") {
  CHECK(human_duration(-2) == "<invalid>");
  CHECK(human_duration(-1) == "0s");
  CHECK(human_duration(0) == "0s");
  CHECK(human_duration(59) == "59s");
  CHECK(human_duration(60) == "60s");
  CHECK(human_duration(119) == "119s");
  CHECK(human_duration(120) == "2m");
  CHECK(human_duration(192) == "3m12s");
  CHECK(human_duration(600) == "10m");
  CHECK(human_duration(3 * 3600 - 1) == "179m");
  CHECK(human_duration(3 * 3600) == "3h");
  CHECK(human_duration(3 * 3600 + 5 * 60) == "3h5m");
  CHECK(human_duration(8 * 3600 + 5 * 60) == "8h");
  CHECK(human_duration(47 * 3600) == "47h");
  CHECK(human_duration(2 * 86400) == "2d");
  CHECK(human_duration(3 * 86400 + 4 * 3600) == "3d4h");
  CHECK(human_duration(8 * 86400 + 4 * 3600) == "8d");
  CHECK(human_duration(400 * 86400) == "400d");
  CHECK(human_duration((2 * 365 + 20) * 86400) == "2y20d");
  CHECK(human_duration(3 * 365 * 86400) == "3y");
  CHECK(human_duration(9 * 365 * 86400 + 86400 * 40) == "9y");
  CHECK(short_human_duration(192) == "3m");
  CHECK(short_human_duration(400 * 86400) == "1y");
}

TEST_CASE("creationTimestamp times") {
  CHECK(iso8601(0) == "1970-01-01T00:00:00Z");
  CHECK(iso8601(1796457072) == "2026-12-05T07:51:12Z");
  CHECK(iso8601(951868799) == "2000-02-29T23:59:59Z");
  CHECK(iso8601(-1) == "1969-12-31T23:59:59Z");
  CHECK(parse_iso8601("2026-12-05T07:51:12Z") == 1796457072);
  CHECK(parse_iso8601("2026-12-05T08:51:12.25+01:00") == 1796457072);
  CHECK(parse_iso8601("2000-02-29T23:59:59Z") == 951868799);
  CHECK_FALSE(parse_iso8601("2001-02-29T00:00:00Z"));
  CHECK_FALSE(parse_iso8601("2026-12-05 07:51:12Z"));
  CHECK_FALSE(parse_iso8601("2026-12-05T07:51:12"));
  CHECK_FALSE(parse_iso8601(""));
  CHECK(age("2026-12-05T07:51:12Z", 1796457072 + 192) == "3m12s");
  CHECK(age("", 5) == "<unknown>");
}

TEST_CASE("-o json is kubectl's: 4-space indent, sorted keys, a List for several objects") {
  CHECK(to_json(Json::parse(R"({"b": [], "a": {"x": 1, "e": {}}})")) ==
        "{\n    \"a\": {\n        \"e\": {},\n        \"x\": 1\n    },\n    \"b\": []\n}\n");
  CHECK(as_list({}) == Json::parse(R"({"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}})"));
  auto spec = parse_output("json");
  REQUIRE(spec);
  PrintOptions single;
  single.single = true;
  CHECK(*print(*spec, {pod()}, {}, single) == to_json(pod()));
  CHECK(*print(*spec, {pod()}, {}, PrintOptions{}) == to_json(as_list({pod()})));
}

TEST_CASE("-o yaml is kubectl's") {
  CHECK(to_yaml(pod()) == R"(apiVersion: v1
kind: Pod
metadata:
  annotations:
    deployment.kubernetes.io/revision: "1"
  creationTimestamp: "2026-12-05T07:51:12Z"
  labels:
    app: web
    tier: front
  name: web
  namespace: default
  resourceVersion: ""
spec:
  containers:
  - args: []
    image: nginx
    name: web
    ports:
    - containerPort: 80
      protocol: TCP
    - containerPort: 443
      protocol: TCP
  nodeSelector: {}
status:
  podIP: 10.244.1.5
)");
  CHECK(to_yaml(as_list({})) == "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n");
  CHECK(to_yaml(Json::parse(R"({"data": {"script": "echo hi\nexit 0\n", "nolf": "a\nb", "two": "x\n\n"}})")) ==
        "data:\n  nolf: |-\n    a\n    b\n  script: |\n    echo hi\n    exit 0\n  two: |+\n    x\n\n");
  CHECK(to_yaml(Json::parse(R"({"a": "*x", "b": "a: b", "c": "it's", "d": "- x", "e": "#c", "f": "x #y", "g": 1.5, "h": null, "i": true})")) ==
        "a: '*x'\nb: 'a: b'\nc: it's\nd: '- x'\ne: '#c'\nf: 'x #y'\ng: 1.5\nh: null\ni: true\n");
  CHECK(to_yaml(Json::parse(R"({"s": ["80", "true", "yes", "0x1F", "1e3", "1:20", "~", "2026-12-05", "12a", "-"]})")) ==
        "s:\n- \"80\"\n- \"true\"\n- \"yes\"\n- \"0x1F\"\n- \"1e3\"\n- \"1:20\"\n- \"~\"\n- \"2026-12-05\"\n- 12a\n- '-'\n");
  CHECK(to_yaml(Json::parse(R"([[1, 2], {"a": 1, "b": [3]}, {}, []])")) == "- - 1\n  - 2\n- a: 1\n  b:\n  - 3\n- {}\n- []\n");
  CHECK(to_yaml(Json::parse(R"({"t": "\ttab", "u": "x\u00e9"})")) == "t: \"\\ttab\"\nu: xé\n");
  // go-yaml's key order: digit runs by value, other runes before letters
  CHECK(to_yaml(Json::parse(R"({"port10": 1, "port9": 2, "a_b": 3, "aB": 4})")) == "a_b: 3\naB: 4\nport9: 2\nport10: 1\n");
}

TEST_CASE("-o yaml folds long strings at column 80 as go-yaml does") {
  const std::string words = "container with ID abc123 terminated because the node ran out of memory and the kubelet evicted it";
  const std::string out = to_yaml(Json{{"message", words}});
  CHECK(out == "message: container with ID abc123 terminated because the node ran out of memory and\n"
               "  the kubelet evicted it\n");
  CHECK(round_trip(Json{{"message", words}}) == Json{{"message", words}});
}

TEST_CASE("-o yaml reads back as what was written (yaml-cpp)") {
  const std::string long_words(30, 'w');
  Json tricky = Json::object();
  const char* const strings[] = {"", "80", "true", "null", "~", "yes", "0x1F", "1e3", "1:20", "2026-12-05",
                                 "2026-12-05T07:51:12Z", "*x", ":x", "a: b", "a #b", "- x", "-x", "?x", " lead",
                                 "trail ", "multi\nline\n", "multi\nline", "a\n\nb\n\n", "\ttab", "emoji \xF0\x9F\x98\x80",
                                 "quote ' and \"", "back\\slash", "\r\n", "x\ry", "  leading\nlines", "line \nspace",
                                 "\n", "\nleading break", "---", "...", "a,b", "{x}", "[x]", "&a", "!t", "%p", "@x", "`x",
                                 "|x", ">x", "x\xE2\x80\xA8y", "caf\xC3\xA9"};
  // Not "\xC2\x85" (NEL): go-yaml writes it "\N", which yaml-cpp 0.7 reads as a lone 0x85 byte.
  int n = 0;
  for (const char* s : strings) tricky["k" + std::to_string(n++)] = s;
  std::string folded;
  for (int i = 0; i < 12; ++i) folded += long_words + (i % 3 ? " " : "  ");
  tricky["folded"] = folded;
  tricky["folded_single"] = "*" + folded;
  tricky["folded_double"] = "\t" + folded;
  tricky["80"] = "key is a number";
  tricky["a: b"] = "key needs quotes";
  tricky[std::string(130, 'k')] = "a long key";
  tricky["multi\nline key"] = 1;
  tricky["numbers"] = Json::parse(R"([0, -3, 1.5, 9007199254740993, 1e-7, true, false, null])");
  tricky["nested"] = Json::parse(R"([[["a"], []], {"x": [{"y": {}}]}])");
  tricky["literal_in_list"] = Json::array({"one\ntwo\n", " indented\nblock\n"});
  CHECK(round_trip(tricky) == tricky);
}

TEST_CASE("-o name is kind.group/name, lowercase") {
  auto name = [](std::string_view api_version, std::string_view kind, std::string_view n) {
    return *object_name(Json{{"apiVersion", api_version}, {"kind", kind}, {"metadata", {{"name", n}}}});
  };
  CHECK(name("v1", "Pod", "web") == "pod/web");
  CHECK(name("v1", "Service", "web") == "service/web");
  CHECK(name("apps/v1", "Deployment", "web") == "deployment.apps/web");
  CHECK(name("networking.k8s.io/v1", "Ingress", "web") == "ingress.networking.k8s.io/web");
  CHECK(name("gateway.networking.k8s.io/v1", "Gateway", "g") == "gateway.gateway.networking.k8s.io/g");
  CHECK_FALSE(object_name(Json{{"metadata", {{"name", "x"}}}}));
  auto spec = parse_output("name");
  REQUIRE(spec);
  CHECK(*print(*spec, {pod(), as_list({pod()})}, {}, PrintOptions{}) == "pod/web\npod/web\n");
}

TEST_CASE("tables are kubectl's: tabwriter layout, headers, labels, namespaces") {
  CHECK(render_table({{"NAME", "READY"}, {"web-1", "1/1"}}) == "NAME    READY\nweb-1   1/1\n");
  CHECK(render_table({{"A", "B", "C"}, {"x", "", "z"}}) == "A     B     C\nx           z\n");  // at least 6 wide
  const std::vector<Column> columns = {
      {"name", [](const Json& o, std::int64_t) { return o["metadata"].value("name", ""); }},
      {"age", [](const Json& o, std::int64_t now) { return age(o["metadata"].value("creationTimestamp", ""), now); }},
      {"ip", [](const Json& o, std::int64_t) { return o["status"].value("podIP", ""); }, true},
      {"node", [](const Json& o, std::int64_t) { return o["spec"].value("nodeName", ""); }, true, true}};
  PrintOptions o;
  o.now = 1796457072 + 192;
  CHECK(print_table({pod()}, columns, o) == "NAME   AGE\nweb    3m12s\n");
  CHECK(print_table({pod()}, columns, o, true) == "NAME   AGE     IP           NODE\nweb    3m12s   10.244.1.5   <none>\n");
  CHECK(print_table({}, columns, o).empty());
  o.with_namespace = true;
  o.show_labels = true;
  o.label_columns = {"app", "example.com/zone"};
  CHECK(print_table({pod()}, columns, o) ==
        "NAMESPACE   NAME   AGE     APP   ZONE   LABELS\n"
        "default     web    3m12s   web          app=web,tier=front\n");
  o = PrintOptions{};
  o.no_headers = true;
  o.kind_prefix = "pod";
  o.now = 1796457072;
  CHECK(print_table({pod()}, columns, o) == "pod/web   0s\n");
  auto wide = parse_output("wide");
  REQUIRE(wide);
  CHECK(print(*wide, {pod()}, columns, o)->find("10.244.1.5") != std::string::npos);
}

TEST_CASE("-o custom-columns") {
  auto spec = parse_output("custom-columns=NAME:.metadata.name,IP:{.status.hostIP},PORTS:spec.containers[*].ports[*].containerPort");
  REQUIRE(spec);
  CHECK(spec->format == OutputFormat::kCustomColumns);
  CHECK(*print(*spec, {pod(), pod()}, {}, PrintOptions{}) ==
        "NAME   IP       PORTS\nweb    <none>   80,443\nweb    <none>   80,443\n");
  PrintOptions o;
  o.no_headers = true;
  auto labels = parse_output("custom-columns=L:.metadata.labels");
  REQUIRE(labels);
  CHECK(*print(*labels, {as_list({pod()})}, {}, o) == "map[app:web tier:front]\n");
  auto bad = parse_output("custom-columns=NAME");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().detail == "unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>");
  auto bad_path = parse_output("custom-columns=A:.a,B:{.b");
  REQUIRE_FALSE(bad_path);
  CHECK(bad_path.error().where.column == 6);
  CHECK_FALSE(parse_output("custom-columns="));
}

TEST_CASE("-o jsonpath and jsonpath-as-json through print") {
  auto spec = parse_output("jsonpath={.items[*].metadata.name}");
  REQUIRE(spec);
  CHECK(*print(*spec, {pod(), pod()}, {}, PrintOptions{}) == "web web");
  PrintOptions single;
  single.single = true;
  auto one = parse_output("jsonpath={.metadata.name}{\"\\n\"}");
  CHECK(*print(*one, {pod()}, {}, single) == "web\n");
  auto as_json = parse_output("jsonpath-as-json={.status.podIP}");
  CHECK(*print(*as_json, {pod()}, {}, single) == "[\n    \"10.244.1.5\"\n]\n");
}

TEST_CASE("-o values kubectl refuses, refused with kubectl's words") {
  auto bad = parse_output("xx");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::kInput);
  CHECK(bad.error().detail ==
        "unable to match a printer suitable for the output format \"xx\", allowed formats are: "
        "custom-columns,json,jsonpath,jsonpath-as-json,name,wide,yaml");
  CHECK_FALSE(parse_output("go-template={{.kind}}"));
  CHECK(parse_output("jsonpath").error().detail == "template format specified but no template given");
  CHECK(parse_output("jsonpath=").error().detail == "template format specified but no template given");
  CHECK(parse_output("custom-columns").error().detail == "custom-columns format specified but no custom columns given");
  auto unclosed = parse_output("jsonpath={.a");
  REQUIRE_FALSE(unclosed);
  CHECK(unclosed.error().where.str() == "-o jsonpath:1:4");
  CHECK(parse_output("")->format == OutputFormat::kTable);
  CHECK(parse_output("yaml")->format == OutputFormat::kYaml);
}
