#include <doctest/doctest.h>

#include <string>

#include "views/jsonpath.hpp"
#include "views/printers.hpp"

using namespace knlab;
using namespace knlab::views;

namespace {

// client-go's TestKubernetes object, the example of kubectl's "JSONPath Support" page.
const Json& nodes() {
  static const Json j = Json::parse(R"({
    "kind": "List",
    "items": [
      {"kind": "None",
       "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
       "status": {"capacity": {"cpu": "4"}, "ready": true,
                  "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]}},
      {"kind": "None",
       "metadata": {"name": "127.0.0.2", "labels": {"kubernetes.io/hostname": "127.0.0.2"}},
       "status": {"capacity": {"cpu": "8"}, "ready": false,
                  "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.2"},
                                {"type": "another", "address": "127.0.0.3"}]}}
    ],
    "users": [
      {"name": "myself", "user": {}},
      {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
    ]
  })");
  return j;
}

std::string run(std::string_view tmpl, const Json& data) {
  auto jp = JsonPath::parse(tmpl);
  REQUIRE_MESSAGE(jp, (jp ? "" : jp.error().format()));
  auto out = jp->execute(data);
  REQUIRE_MESSAGE(out, (out ? "" : out.error().format()));
  return *out;
}

// The error of a template that fails to parse or to run.
Error failure(std::string_view tmpl, const Json& data) {
  auto jp = JsonPath::parse(tmpl);
  if (!jp) return jp.error();
  auto out = jp->execute(data);
  REQUIRE_FALSE(out);
  return out.error();
}

}  // namespace

TEST_CASE("jsonpath: the examples of kubectl's JSONPath page") {
  const Json& j = nodes();
  CHECK(run("kind is {.kind}", j) == "kind is List");
  CHECK(run("{['kind']}", j) == "List");
  CHECK(run("{..name}", j) == "127.0.0.1 127.0.0.2 myself e2e");
  CHECK(run("{.items[*].metadata.name}", j) == "127.0.0.1 127.0.0.2");
  CHECK(run("{.users[0].name}", j) == "myself");
  CHECK(run("{.items[*]['metadata.name', 'status.capacity']}", j) == R"(127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"})");
  CHECK(run(R"({.users[?(@.name=="e2e")].user.password})", j) == "secret");
  CHECK(run("{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}", j) ==
        R"([127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] )");
  CHECK(run("{range .items[*]}{.metadata.name}{'\\t'}{end}", j) == "127.0.0.1\t127.0.0.2\t");
  CHECK(run("{.items[0].metadata.labels.kubernetes\\.io/hostname}", j) == "127.0.0.1");
  CHECK(run(R"({.items[?(@.metadata.name=="127.0.0.1")].status.capacity})", j) == R"({"cpu":"4"})");
  CHECK(run("{.items[0]}", j) ==
        R"({"kind":"None","metadata":{"labels":{"kubernetes.io/hostname":"127.0.0.1"},"name":"127.0.0.1"},)"
        R"("status":{"addresses":[{"address":"127.0.0.1","type":"LegacyHostIP"}],"capacity":{"cpu":"4"},"ready":true}})");
  CHECK(run("{.items[-1:]}", j) == run("{.items[1]}", j));
}

TEST_CASE("jsonpath: client-go's Kubernetes cases") {
  const Json& j = nodes();
  CHECK(run("{range .items[*]}{.metadata.name}, {end}{.kind}", j) == "127.0.0.1, 127.0.0.2, List");
  CHECK(run("{range .items[*]}{.metadata.name}{\"\\t\"}{end}", j) == "127.0.0.1\t127.0.0.2\t");
  CHECK(run("{.items[*].status.addresses[*].address}", j) == "127.0.0.1 127.0.0.2 127.0.0.3");
  CHECK(run("{range .items[*]}{range .status.addresses[*]}{.address}, {end}{end}", j) ==
        "127.0.0.1, 127.0.0.2, 127.0.0.3, ");
  CHECK(run(R"({.items[?(@.metadata.labels.kubernetes\.io/hostname=="127.0.0.1")].kind})", j) == "None");
  CHECK(run("{.items[?(@..ready==true)].metadata.name}", j) == "127.0.0.1");
  CHECK(run("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", j) == "127.0.0.1\n127.0.0.2\n");
  CHECK(run("{range .missing[*]}{.x}{end}done", j) == "done");  // an empty range
}

TEST_CASE("jsonpath: slices, unions, wildcards, literals") {
  const Json t = Json::parse(R"({"bools": [true, false, true, false], "integers": [1, 2, 3, 4],
      "floats": [1.0, 2.2, 3.3, 4.0], "strings": ["one", "two", "three", "four"],
      "interfaces": [true, "one", 1, 1.1], "maps": [{"name": "one", "value": 1}, {"name": "two", "value": 2.02}]})");
  CHECK(run("{ .bools }", t) == "[true,false,true,false]");
  CHECK(run("{ .bools[-1] }", t) == "false");
  CHECK(run("{ .bools[:4:2] }", t) == "true true");
  CHECK(run("{ .integers[-2] }", t) == "3");
  CHECK(run("{ .integers[0:2] }", t) == "1 2");
  CHECK(run("{ .integers[1:] }", t) == "2 3 4");
  CHECK(run("{ .integers[:2] }", t) == "1 2");
  CHECK(run("{ .integers[1::2] }", t) == "2 4");
  CHECK(run("{ .integers[1:1] }", t) == "");
  CHECK(run("{ .integers[0,2] }", t) == "1 3");
  CHECK(run("{ .integers[*] }", t) == "1 2 3 4");
  CHECK(run("{ .floats }", t) == "[1,2.2,3.3,4]");
  CHECK(run("{ .floats[-2] }", t) == "3.3");
  CHECK(run("{ .interfaces }", t) == R"([true,"one",1,1.1])");
  CHECK(run("{ .maps[1] }", t) == R"({"name":"two","value":2.02})");
  CHECK(run("{.maps[0].*}", t) == "one 1");
  CHECK(run("{.maps[*]['name','value']}", t) == "one two 1 2.02");
  CHECK(run("{[?(@<5)]}", Json::parse("[2, 6, 3, 7]")) == "2 3");
  CHECK(run("{[1,3,4]}", Json::parse("[0, 1, 2, 3, 4]")) == "1 3 4");
  CHECK(run("{..}", Json::parse("[1, 2, 3]")) == "[1,2,3]");
  CHECK(run(R"({"{"})", Json()) == "{");
  CHECK(run("hello jsonpath", Json()) == "hello jsonpath");
  CHECK(run("{@}", Json::parse(R"({"a": 1})")) == R"({"a":1})");
  CHECK(run("{$.a}", Json::parse(R"({"a": "x"})")) == "x");
  CHECK(run("{.a}{5}{true}", Json::parse(R"({"a": null})")) == "<nil>5true");
  CHECK(run("{.s}", Json::parse(R"({"s": "<a&b>"})")) == "<a&b>");             // strings raw
  CHECK(run("{.o}", Json::parse(R"({"o": {"s": "<a&b>"}})")) == R"({"s":"\u003ca\u0026b\u003e"})");  // Go's JSON
  CHECK(run(R"({"a\tb\u00e9\x41"})", Json()) == "a\tb\xc3\xa9" "A");
}

TEST_CASE("jsonpath: filters on nodes and services") {
  const Json node = Json::parse(R"({"status": {"addresses": [
      {"type": "InternalIP", "address": "192.168.56.11"}, {"type": "Hostname", "address": "node-1"}]}})");
  CHECK(run(R"({.status.addresses[?(@.type=="InternalIP")].address})", node) == "192.168.56.11");
  CHECK(run(R"({.status.addresses[?(@.type!="InternalIP")].address})", node) == "node-1");
  CHECK(run("{.status.addresses[?(@.type=='Hostname')].address}", node) == "node-1");
  const Json svc = Json::parse(R"({"spec": {"type": "NodePort", "ports": [
      {"name": "http", "port": 80, "nodePort": 30080}, {"name": "https", "port": 443, "nodePort": 30443}]}})");
  CHECK(run("{.spec.ports[0].nodePort}", svc) == "30080");
  CHECK(run("{.spec.ports[?(@.port>80)].name}", svc) == "https");
  CHECK(run("{.spec.ports[?(@.port>=80)].name}", svc) == "http https");
  CHECK(run("{.spec.ports[?(@.port < 443)].name}", svc) == "http");
  CHECK(run("{.spec.ports[?(@.port<=80.5)].nodePort}", svc) == "30080");
  CHECK(run("{.spec.ports[?(@.port==443)].nodePort}", svc) == "30443");
  CHECK(run(R"({.spec.ports[?(@.port=="443")].nodePort})", svc) == "");  // a string is not a number
  CHECK(run("{.spec.ports[?(@.nodePort)].name}", svc) == "http https");   // existence
  CHECK(run("{.spec.ports[?(@.appProtocol)].name}", svc) == "");
  const Json pods = Json::parse(R"({"items": [{"spec": {"hostNetwork": true}, "n": "a"}, {"spec": {}, "n": "b"}]})");
  CHECK(run("{.items[?(@.spec.hostNetwork==true)].n}", pods) == "a");
  CHECK(run("{.items[?(@.spec.hostNetwork!=true)].n}", pods) == "");  // no field: skipped, as in client-go
  CHECK(run("{.items[?(@.n!='a')].n}", pods) == "b");
}

TEST_CASE("jsonpath: missing keys print nothing, as kubectl's -o jsonpath") {
  const Json& j = nodes();
  CHECK(run("{.foo}", j) == "");
  CHECK(run("{.items[*].metadata.namespace}", j) == "");
  CHECK(run("a{.foo.bar}b", j) == "ab");
  auto strict = JsonPath::parse("{.foo}");
  REQUIRE(strict);
  strict->allow_missing_keys(false);
  auto out = strict->execute(j);
  REQUIRE_FALSE(out);
  CHECK(out.error().detail == R"(error executing jsonpath "{.foo}": foo is not found)");
}

TEST_CASE("jsonpath: execution errors are kubectl's") {
  const Json& j = nodes();
  CHECK(failure("{.items[5]}", j).detail == R"(error executing jsonpath "{.items[5]}": array index out of bounds: index 5, length 2)");
  CHECK(failure("{.items[-3]}", j).detail.ends_with("array index out of bounds: index -1, length 2"));
  CHECK(failure("{.kind[0]}", j).detail.ends_with(": string is not array or slice"));
  CHECK(failure("{.users[0].user[0]}", j).detail.ends_with(": map[string]interface {} is not array or slice"));
  CHECK(failure("{hello}", j).detail.ends_with(": unrecognized identifier hello"));
  CHECK(failure("{.items[::0]}", j).detail.ends_with(": step must be > 0"));
  CHECK(failure("{.items[1:0]}", j).detail.ends_with(": starting index 1 is greater than ending index 0"));
  CHECK(failure("{.items[?(@..address=='x')]}", j).detail.ends_with(": can only compare one element at a time"));
}

TEST_CASE("jsonpath: parse errors name the column of the problem") {
  auto check = [](std::string_view tmpl, unsigned column, std::string_view message) {
    auto jp = JsonPath::parse(tmpl);
    REQUIRE_FALSE(jp);
    CHECK(jp.error().kind == ErrorKind::kInput);
    CHECK(jp.error().where.file == "-o jsonpath");
    CHECK(jp.error().where.column == column);
    CHECK(jp.error().detail == "error parsing jsonpath " + std::string(tmpl) + ", " + std::string(message));
  };
  check("{.metadata.name", 16, "unclosed action");
  check("{.a}{.b", 8, "unclosed action");
  check("{.items[0}", 8, "unterminated array");
  check("{.items[x]}", 8, "invalid array index x");
  check("{.items[?(@.name==\"x\"}", 8, "unterminated filter");
  check("{.items[?(@.a)x}", 15, "unclosed array expect ]");
  check("{.items[?(@.a<>1)]}", 14, "unrecognized filter operator <>");
  check("{.items[?(@.a==#)]}", 16, "unrecognized character in action: U+0023 '#'");
  check("{#}", 2, "unrecognized character in action: U+0023 '#'");
  check("{'abc}", 2, "unterminated quoted string");
  check("{1.2.3}", 2, "cannot parse number 1.2.3");
  check("{range .a}{@}{end}{end}", 19, "not in range, nothing to end");
  check("{.a[0,x]}", 7, "invalid array index x");
  check(R"({.a["k"]})", 4, "invalid array index \"k\"");  // kubectl's keys are single-quoted
  auto ok = JsonPath::parse("plain text, no braces");
  CHECK(ok);
}

TEST_CASE("jsonpath-as-json prints each action's results as a JSON array") {
  auto jp = JsonPath::parse("{.items[*].metadata.name}");
  REQUIRE(jp);
  CHECK(*jp->execute_as_json(nodes()) == "[\n    \"127.0.0.1\",\n    \"127.0.0.2\"\n]\n");
  auto cap = JsonPath::parse("{.items[0].status.capacity}");
  REQUIRE(cap);
  CHECK(*cap->execute_as_json(nodes()) == "[\n    {\n        \"cpu\": \"4\"\n    }\n]\n");
  auto none = JsonPath::parse("{.nothing}");
  CHECK(*none->execute_as_json(nodes()) == "[]\n");
  auto groups = jp->find_results(nodes());
  REQUIRE(groups);
  CHECK(groups->size() == 1);
  CHECK((*groups)[0].size() == 2);
}

TEST_CASE("Go's renderings of values") {
  CHECK(go_sprint(Json::parse(R"({"b": [1, "x", null], "a": {"c": 1.5}})")) == "map[a:map[c:1.5] b:[1 x <nil>]]");
  CHECK(go_float(1e6) == "1e+06");
  CHECK(go_float(123456.5) == "123456.5");
  CHECK(go_float(0.0001) == "0.0001");
  CHECK(go_float(0.00001) == "1e-05");
  CHECK(go_float(1e-7, true) == "1e-7");
  CHECK(go_float(1e21, true) == "1e+21");
  CHECK(go_float(1234567.25, true) == "1234567.25");
  CHECK(go_json(Json::parse("2.0")) == "2");
  CHECK(go_json(Json("a\u2028\x01\"")) == R"("a\u2028\u0001\"")");
  CHECK(go_quote("{\"\\n\"}") == R"("{\"\\n\"}")");
}
