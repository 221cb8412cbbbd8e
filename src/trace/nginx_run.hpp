// One request through the server nginx chose for it: the server's rewrite directives, the
// location search, each location's rewrite directives (`set`, `rewrite`, `return`, `if`,
// `break`), `error_page` jumps (to named locations, or URIs), and the content handler
// (`proxy_pass` and its upstream). Internal to src/trace (nginx_match).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "trace/nginx_eval.hpp"

namespace knlab::trace::ngx {

// The end of one way through the server (one per split_clients choice).
struct Outcome {
  const Directive* location = nullptr;  // the location it ends in
  std::string action;
  std::vector<L7Upstream> upstreams;
  std::string rewritten_uri;
  std::vector<std::string> steps;  // all of them, from the start
  long share = 10000;              // of the requests, in hundredths of a percent
  std::vector<std::pair<std::string, std::string>> chosen;  // split_clients (variable, value)
};

// nginx's location for e.uri among the server's (a regex location's captures kept), with a step
// saying why; nullptr (and a step) when none matches.
const Directive* find_location(Eval& e, const Directive& server);

// The request (state in `e`) from the server's rewrite directives to its end.
Outcome run_server(Eval& e, const Directive& server);

// The directives of a server or location block that may change where a request goes and that
// this matcher does not evaluate, as steps.
void note_unevaluated(Eval& e, const Directive& block);

}  // namespace knlab::trace::ngx
