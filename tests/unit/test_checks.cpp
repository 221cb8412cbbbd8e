// The reader of checks (lab/checks): every kind from its keys, what each kind may say, `after`
// names and cycles, and every shipped lab's checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "check/check.hpp"
#include "lab/loader.hpp"

using namespace knlab;

namespace {

const std::string kHead = "[lab]\nname = \"t\"\n\n[[node]]\nname = \"node1\"\n\n";

Result<Lab> lab_with(const std::string& checks) { return parse_lab(kHead + checks, "t.toml"); }

std::string error_of(const std::string& checks) {
  auto lab = lab_with(checks);
  REQUIRE_FALSE(lab.has_value());
  return lab.error().format();
}

}  // namespace

TEST_CASE("checks: each kind is read from its keys, with defaults") {
  auto lab = lab_with(R"(
[[check]]
name = "web"
description = "web answers"
from = "client"
to = "svc/web"
backends = 3
client = "source"
capture = "node1/eth0"
sees = "vxlan"

[[check]]
name = "dns"
from = "client"
resolves = "web"
address = "10.96.0.20"
after = ["web"]

[[check]]
name = "rt"
node = "node1"
route = "10.244.1.0/24"
via_gateway = "10.244.1.0"
dev = "flannel.1"
wait_ms = 5000

[[check]]
name = "obj"
object = "svc/web"
field = "{.spec.type}"
equals = "NodePort"
)");
  REQUIRE(lab.has_value());
  const auto& c = lab->checks;
  REQUIRE(c.size() == 4);
  CHECK(c[0].kind == CheckKind::kTraffic);
  CHECK(c[0].requests == 30);  // backends without requests: ten each
  CHECK(c[0].timeout_ms == 2000);
  CHECK(c[0].expect_reach);
  CHECK(c[0].protocol == "tcp");
  CHECK(c[1].kind == CheckKind::kDns);
  CHECK(c[1].after == std::vector<std::string>{"web"});
  CHECK(c[2].kind == CheckKind::kKernel);
  CHECK(c[2].route_via == "10.244.1.0");
  CHECK(c[2].wait_ms == 5000);
  CHECK(c[3].kind == CheckKind::kObject);
  CHECK(c[3].equals == std::optional<std::string>("NodePort"));
  CHECK(c[0].where.line == 8);
}

TEST_CASE("checks: what a check may not say is refused at its place") {
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\n").find("t.toml:7:1: invalid input: [[check]] 'x' says nothing to check") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nnode = \"node1\"\nroute = \"10.0.0.0/8\"\nbody = \"x\"\n")
            .find("'body' does not apply to a kernel check") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\nto = \"b\"\nvia = \"node-port\"\n").find("has no 'via_node'") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\nto = \"b\"\ncapture = \"eth0\"\nsees = \"ip\"\n").find("needs NAMESPACE/LINK") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\nto = \"b\"\nprotocol = \"icmp\"\nstatus = 200\n").find("an ICMP echo has no port") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\nto = \"b\"\nbackends = 5\nrequests = 2\n").find("backends = 5 cannot answer 2 requests") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nobject = \"svc/a\"\nequals = \"1\"\n").find("equals and contains compare a field") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nobject = \"svc/a\"\nabsent = true\ncount = 1\n").find("absent = true checks only") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"Bad_Name\"\nobject = \"nodes\"\n").find("t.toml:8:8") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"x\"\nfrom = \"a\"\nresolves = \"b\"\naddress = \"b\"\n").find("is not an IPv4 address") != std::string::npos);
  CHECK(error_of("[check]\nname = \"x\"\n").find("write [[check]]") != std::string::npos);
}

TEST_CASE("checks: after names checks of the file, without cycles, and names are unique") {
  CHECK(error_of("[[check]]\nname = \"a\"\nobject = \"nodes\"\n[[check]]\nname = \"a\"\nobject = \"pods\"\n").find("two checks are named \"a\"") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"a\"\nafter = [\"b\"]\nobject = \"nodes\"\n").find("runs after \"b\", which is not a check here") != std::string::npos);
  CHECK(error_of("[[check]]\nname = \"a\"\nafter = [\"a\"]\nobject = \"nodes\"\n").find("depends on itself") != std::string::npos);
  CHECK(lab_with("[[check]]\nname = \"b\"\nafter = [\"a\"]\nobject = \"nodes\"\n[[check]]\nname = \"a\"\nobject = \"pods\"\n").has_value());
}

TEST_CASE("checks: every shipped lab declares checks that load") {
  int labs = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(KNLAB_SOURCE_DIR) + "/labs")) {
    if (e.path().extension() != ".toml") continue;
    auto lab = load_lab_file(e.path().string(), {});
    REQUIRE_MESSAGE(lab.has_value(), e.path().string() << ": " << lab.error().format());
    CHECK_MESSAGE(lab->checks.size() >= 2, e.path().string());
    for (const CheckSpec& c : lab->checks) CHECK_MESSAGE(!c.hint.empty(), e.path().string() << " " << c.name);
    ++labs;
  }
  CHECK(labs >= 13);
}

TEST_CASE("checks: outcomes as text and JSON") {
  std::vector<check::Outcome> out{{"a", "a works", "", check::Verdict::kPass, "seen", 1, 3},
                                  {"b", "", "try this", check::Verdict::kFail, "not seen", 2, 400},
                                  {"c", "", "", check::Verdict::kSkipped, "not run", 0, 0}};
  std::string text = check::render_text(out, false);
  CHECK(text.find("PASS  a  a works\n         seen\n") != std::string::npos);
  CHECK(text.find("FAIL  b  not seen\n         hint: try this\n") != std::string::npos);
  CHECK(text.find("1 passed, 1 failed, 1 skipped") != std::string::npos);
  auto j = check::to_json(out);
  CHECK(j["passed"] == false);
  CHECK(j["checks"][1]["result"] == "FAIL");
  CHECK_FALSE(check::all_passed(out));
  CHECK(check::run_checks(LabView{}, {}).value().empty());
}

TEST_CASE("checks: the scheduler runs dependencies first, skips what depends on a failure, and ends") {
  // Object checks on a lab with no nodes: "none" passes, "one" fails. With one worker, a skip
  // settled while nothing else runs must not leave the scheduler waiting.
  auto lab = lab_with(R"(
[[check]]
name = "after-one"
after = ["one"]
object = "nodes"

[[check]]
name = "one"
object = "nodes"
count = 1

[[check]]
name = "after-none"
after = ["none"]
object = "nodes"
count = 0

[[check]]
name = "none"
object = "nodes"
count = 0

[[check]]
name = "after-skipped"
after = ["after-one"]
object = "nodes"
)");
  REQUIRE(lab.has_value());
  for (int parallel : {1, 8}) {
    std::vector<std::string> order;
    std::mutex m;
    check::RunOptions o{parallel, [&](const check::Outcome& x) { std::lock_guard g(m); order.push_back(x.name); }};
    auto out = check::run_checks(LabView{}, lab->checks, o);
    REQUIRE(out.has_value());
    REQUIRE(out->size() == 5);
    CHECK((*out)[0].verdict == check::Verdict::kSkipped);
    CHECK((*out)[0].detail.find("runs after \"one\"") != std::string::npos);
    CHECK((*out)[1].verdict == check::Verdict::kFail);
    CHECK((*out)[1].detail == "0 nodes, not 1");
    CHECK((*out)[2].verdict == check::Verdict::kPass);
    CHECK((*out)[3].verdict == check::Verdict::kPass);
    CHECK((*out)[4].verdict == check::Verdict::kSkipped);
    REQUIRE(order.size() == 5);
    auto at = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    CHECK(at("one") < at("after-one"));
    CHECK(at("none") < at("after-none"));
    CHECK(at("after-one") < at("after-skipped"));
  }
}
