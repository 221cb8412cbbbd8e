// What the describers of each kind share (internal to src/views).
#pragma once

#include <string>
#include <string_view>

#include "views/describe.hpp"

namespace knlab::views::describing {

// A field of an object; an empty object when missing or null (so that lookups chain).
const Json& field(const Json& o, std::string_view key);
// A string field ("" when missing or not a string).
std::string str(const Json& j, std::string_view key);
// A field rendered as kubectl's %v: strings raw, numbers, true/false; "" when missing.
std::string text(const Json& j, std::string_view key);
// "<none>" for "".
std::string or_none(std::string value);
// "a=b,c=d" (sorted), "<none>" when empty.
std::string labels_inline(const Json& labels);
// "Mon, 02 Jan 2006 15:04:05 +0000" from an RFC 3339 time ("" when missing or invalid).
std::string describe_time(std::string_view rfc3339);
// Go's time.Time.String() of a metav1.Time, as kubectl's %s prints it: "2006-01-02 15:04:05 +0000
// UTC" (UTC, whole seconds); Go's zero time when missing or invalid.
std::string go_time(std::string_view rfc3339);

// The lines every describer starts with, written with '\t' for tabwrite: Name, Namespace (when
// namespaced), Labels and Annotations one per line (printLabelsMultiline).
void name_and_namespace(std::string& out, const Json& o);
void multiline(std::string& out, std::string_view title, const Json& map, std::string_view sep = "=");
void labels_and_annotations(std::string& out, const Json& o);
// "ReplicaSet/web-7d4b9c8f6d" of the controller ownerReference ("" when none).
std::string controlled_by(const Json& o);

// The first related object of `kind` named `name` in `ns`; nullptr when none.
const Json* find_related(const DescribeContext& ctx, std::string_view kind, std::string_view ns, std::string_view name);

// kubectl's formatEndpoints: "10.244.1.2:8080,10.244.2.2:8080" of the addresses of `endpoints`
// for the ports named `port_name` (all ports when `any_port`), at most 3, then " + N more...";
// "<none>" when none.
std::string format_endpoints(const Json* endpoints, std::string_view port_name, bool any_port = false);

// Per-kind describers (they return text written with '\t'; describe() runs tabwrite).
std::string describe_namespace(const Json& o);
std::string describe_node(const Json& o, const DescribeContext& ctx);
std::string describe_service(const Json& o, const DescribeContext& ctx);
std::string describe_endpoints(const Json& o);
std::string describe_endpointslice(const Json& o);
std::string describe_pod(const Json& o, const DescribeContext& ctx);
std::string describe_deployment(const Json& o, const DescribeContext& ctx);
std::string describe_replicaset(const Json& o, const DescribeContext& ctx);
std::string describe_l7(const Json& o, const DescribeContext& ctx);  // "" when not an L7 kind
std::string describe_networkpolicy(const Json& o);
// kn-lab's addition to describe pod: "NetworkPolicies:" and the policies of the context that
// select the pod, "NetworkPolicies:\t<none>" when none does; "" when the context holds no
// NetworkPolicy at all (the lab has none: describe pod stays kubectl's).
std::string pod_network_policies(const Json& pod, const DescribeContext& ctx);
// Head for kinds without a describer: name, labels, API Version, Kind.
std::string describe_generic_head(const Json& o);

}  // namespace knlab::views::describing
