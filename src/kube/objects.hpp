// A running lab as the Kubernetes API would return it: every object kn-lab serves, built from
// the lab's plan and state (runtime/lifecycle's LabView) as an API object (apiVersion, kind,
// metadata with uid, labels, annotations, creationTimestamp and ownerReferences, spec, and the
// status fields kubectl users read). The one source of every view: get, describe and the
// printers render these objects, never the plan directly. Pure given the view and `now`.
//
// kn-lab's own facts (a pod's network namespace and host veth, its pause PID) are annotations
// under kn-lab.io/, so an object printed with -o yaml is still one a real API server accepts.
#pragma once


#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/kinds.hpp"
#include "runtime/lifecycle.hpp"
#include "views/jsonpath.hpp"

namespace knlab {

using views::Json;

inline constexpr std::string_view kAnnotationNetns = "kn-lab.io/netns";
inline constexpr std::string_view kAnnotationHostVeth = "kn-lab.io/host-veth";
inline constexpr std::string_view kAnnotationPausePid = "kn-lab.io/pause-pid";

// Every object of `kind` in the lab, in a stable order (namespace, then the lab's order).
std::vector<Json> objects_of(const LabView& v, Kind kind);

// The labels every node has: kubernetes.io/hostname, os and arch (and their beta. forms).
std::map<std::string, std::string> node_default_labels(const std::string& node);

// The object of `kind` named `name` (in namespace `ns` when the kind is namespaced).
std::optional<Json> find_object(const LabView& v, Kind kind, std::string_view ns, std::string_view name);

// A deterministic uid (RFC 4122 layout) for an object of a lab.
std::string object_uid(std::string_view lab, std::string_view kind, std::string_view ns, std::string_view name);

// metadata.creationTimestamp of an object, as recorded (the lab's creation time when the object
// has none: a lab brought up before times were recorded).
std::int64_t creation_time(const LabView& v, std::string_view kind, std::string_view ns, std::string_view name);

}  // namespace knlab
