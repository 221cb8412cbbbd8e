#include "lab/l7.hpp"

namespace knlab {

bool L7Objects::empty() const {
  bool none = true;
  each([&](const auto& v) { none = none && v.empty(); });
  return none;
}

std::string_view to_string(ListenerProtocol p) {
  switch (p) {
    case ListenerProtocol::kHTTP: return "HTTP";
    case ListenerProtocol::kHTTPS: return "HTTPS";
    case ListenerProtocol::kTCP: return "TCP";
    case ListenerProtocol::kUDP: return "UDP";
  }
  return "?";
}

std::string_view to_string(IngressPathType t) {
  switch (t) {
    case IngressPathType::kPrefix: return "Prefix";
    case IngressPathType::kExact: return "Exact";
    case IngressPathType::kImplementationSpecific: return "ImplementationSpecific";
  }
  return "?";
}

std::string_view to_string(PathMatchType t) {
  switch (t) {
    case PathMatchType::kExact: return "Exact";
    case PathMatchType::kPathPrefix: return "PathPrefix";
    case PathMatchType::kRegularExpression: return "RegularExpression";
  }
  return "?";
}

}  // namespace knlab
