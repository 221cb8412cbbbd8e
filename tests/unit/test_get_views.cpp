// kubectl's views: label selectors, AGE, -o json/yaml/name, uids and timestamps of API objects.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "cli/columns.hpp"
#include "cli/printers.hpp"
#include "cli/selector.hpp"

using namespace knlab;

TEST_CASE("label selectors: equality and set-based, as kubectl -l") {
  Json web = {{"app", "web"}, {"tier", "front"}};
  Json db = {{"app", "db"}};
  auto match = [](const char* text, const Json& labels) {
    auto s = Selector::parse(text);
    REQUIRE(s.has_value());
    return s->matches(labels);
  };
  CHECK(match("", web));
  CHECK(match("app=web", web));
  CHECK(match("app==web", web));
  CHECK_FALSE(match("app=web", db));
  CHECK(match("app!=web", db));
  CHECK(match("app!=web", Json::object()));  // no label: not equal
  CHECK(match("tier", web));
  CHECK_FALSE(match("tier", db));
  CHECK(match("!tier", db));
  CHECK(match("app in (web,db)", db));
  CHECK(match("app in (web, db),!tier", db));
  CHECK_FALSE(match("app notin (web,db)", db));
  CHECK(match("app=web,tier=front", web));
  CHECK_FALSE(match("app=web,tier=back", web));
  auto bad = Selector::parse("app in web");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().detail.find("unable to parse requirement") != std::string::npos);
  CHECK_FALSE(Selector::parse("a b=c").has_value());
  CHECK_FALSE(Selector::parse("app=web,").has_value());
}

TEST_CASE("AGE as kubectl prints it (duration.HumanDuration)") {
  CHECK(human_duration(0) == "0s");
  CHECK(human_duration(59) == "59s");
  CHECK(human_duration(119) == "119s");
  CHECK(human_duration(120) == "2m");
  CHECK(human_duration(192) == "3m12s");
  CHECK(human_duration(600) == "10m");
  CHECK(human_duration(3 * 3600) == "3h");
  CHECK(human_duration(5 * 3600 + 30 * 60) == "5h30m");
  CHECK(human_duration(30 * 3600) == "30h");
  CHECK(human_duration(2 * 86400) == "2d");
  CHECK(human_duration(3 * 86400 + 4 * 3600) == "3d4h");
  CHECK(human_duration(400 * 86400) == "400d");
  CHECK(human_duration(800 * 86400) == "2y70d");
  CHECK(age_of(rfc3339(1764921072), 1764921072 + 75) == 75);
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(age_of("not a time", 100) == 0);
}

TEST_CASE("-o yaml reads back as the same object; -o name and a List as kubectl prints them") {
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}, {"labels", {{"app", "web"}, {"version", "1.0"}}}, {"annotations", {{"a", "true"}, {"b", "80"}, {"c", ""}}}}},
              {"spec", {{"containers", Json::array({{{"name", "web"}, {"args", {"--port", "8080", "-v"}}, {"ports", Json::array({{{"containerPort", 80}}})}}})}}},
              {"status", {{"podIP", "10.244.1.2"}, {"ready", true}, {"empty", Json::object()}, {"none", Json::array()}, {"text", "line 1\nline 2\n"}}}};
  std::string text = to_yaml_text(pod);
  YAML::Node back = YAML::Load(text);
  CHECK(back["metadata"]["labels"]["version"].as<std::string>() == "1.0");
  CHECK(back["metadata"]["annotations"]["a"].Tag() == "!");  // "true" stays a string
  CHECK(back["metadata"]["annotations"]["b"].Tag() == "!");
  CHECK(back["metadata"]["annotations"]["c"].as<std::string>() == "");
  CHECK(back["spec"]["containers"][0]["args"][0].as<std::string>() == "--port");
  CHECK(back["spec"]["containers"][0]["ports"][0]["containerPort"].as<int>() == 80);
  CHECK(back["spec"]["containers"][0]["ports"][0]["containerPort"].Tag() == "?");  // a number
  CHECK(back["status"]["text"].as<std::string>() == "line 1\nline 2\n");
  CHECK(back["status"]["empty"].IsMap());
  CHECK(back["status"]["none"].IsSequence());
  CHECK(text.find("apiVersion: v1\nkind: Pod\nmetadata:\n") == 0);  // keys sorted, as kubectl
  CHECK(object_name(pod) == "pod/web");
  CHECK(object_name(Json{{"kind", "Deployment"}, {"metadata", {{"name", "d"}}}}) == "deployment.apps/d");
  CHECK(object_name(Json{{"kind", "Gateway"}, {"metadata", {{"name", "g"}}}}) == "gateway.gateway.networking.k8s.io/g");
  Json list = as_list({pod});
  CHECK(list["kind"] == "List");
  CHECK(list["items"].size() == 1);
  CHECK(to_json_text(list).find("{\n    \"apiVersion\": \"v1\",\n    \"items\": [") == 0);
}

TEST_CASE("uids are stable per object and laid out as RFC 4122") {
  std::string a = object_uid("lab", "Pod", "default", "web");
  CHECK(a == object_uid("lab", "Pod", "default", "web"));
  CHECK(a != object_uid("lab", "Pod", "default", "api"));
  CHECK(a != object_uid("other", "Pod", "default", "web"));
  REQUIRE(a.size() == 36);
  CHECK(a[8] == '-');
  CHECK(a[14] == '5');
}

TEST_CASE("a table: kubectl's columns, --no-headers, --show-labels, -L, NAMESPACE with -A") {
  Json svc = {{"apiVersion", "v1"}, {"kind", "Service"},
              {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"labels", {{"app", "web"}}}, {"creationTimestamp", rfc3339(1000)}}},
              {"spec", {{"type", "NodePort"}, {"clusterIP", "10.96.0.20"}, {"ports", Json::array({{{"port", 80}, {"nodePort", 30080}, {"protocol", "TCP"}}})},
                        {"selector", {{"app", "web"}}}}},
              {"status", {{"loadBalancer", Json::object()}}}};
  TableOptions t;
  t.with_namespace = true;
  t.show_labels = true;
  t.label_columns = {"app"};
  std::string out = render_objects({svc}, Kind::kService, t, 1000 + 192);
  CHECK(out == "NAMESPACE   NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE     APP   LABELS\n"
               "shop        web    NodePort   10.96.0.20   <none>        80:30080/TCP   3m12s   web   app=web\n");
  t = TableOptions{};
  t.no_headers = true;
  t.wide = true;
  CHECK(render_objects({svc}, Kind::kService, t, 1000 + 5) == "web   NodePort   10.96.0.20   <none>   80:30080/TCP   5s   app=web\n");
}
