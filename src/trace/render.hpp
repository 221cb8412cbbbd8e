// A trace as a learner reads it (numbered hops grouped by namespace, each with the command that
// shows the same by hand), as one line per namespace (--brief), and as JSON for tools.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trace/l7.hpp"
#include "trace/trace.hpp"

namespace knlab::trace {

// What the command line adds around the walk: the names given and how they resolved.
struct TraceHeader {
  std::string from;      // "pod client (default)"
  std::string to;        // "svc/web port 80 (10.96.0.20:80)"
  std::string resolved;  // DNS: how the name became an address
  bool probed = false;
  std::string probe;     // what the probe saw: "connected; HTTP 200, answered by web-2", "timed out"
  bool answered = false; // the probe got its answer
  std::string answered_by;  // the hostname kn-netexec answered with, when it did
  std::vector<std::string> contradictions;  // a prediction the probe contradicts: a bug
};

// `l7` and `upstream` (may be null): through an Ingress or a Gateway, nginx's choice and the data
// plane's own connection to the endpoint.
std::string render_text(const TraceHeader& h, const TraceResult& r, const L7Stage* l7 = nullptr, const TraceResult* upstream = nullptr);
std::string render_brief(const TraceHeader& h, const TraceResult& r, const L7Stage* l7 = nullptr, const TraceResult* upstream = nullptr);
nlohmann::ordered_json to_json(const TraceHeader& h, const TraceResult& r, const L7Stage* l7 = nullptr, const TraceResult* upstream = nullptr);

}  // namespace knlab::trace
