// kubectl patch: the three patch types of the API server applied to an API object (kube/objects),
// and the object turned back into the manifest kn-lab's reader takes (lab/manifest), so that a
// patch changes the lab through the same path as `apply -f`. Pure.
//   - merge (RFC 7386 JSON merge patch): maps merge, lists and scalars are replaced, null deletes;
//   - strategic (the default): as merge, but the lists Kubernetes merges by a key (ports by port,
//     containers, env, listeners by name, ...) merge element by element, `$patch: delete` removes one;
//   - json (RFC 6902 JSON patch): a list of add/remove/replace/move/copy/test operations.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "views/jsonpath.hpp"

namespace knlab::kube {

using views::Json;

enum class PatchType { kStrategic, kMerge, kJson };
Result<PatchType> parse_patch_type(std::string_view name);

// A patch given with -p: JSON, or YAML (as kubectl accepts both). `where` names the option.
Result<Json> parse_patch(std::string_view text, std::string_view where);

// The object after the patch. Errors say what in the patch does not fit the object.
Result<Json> apply_patch(const Json& object, const Json& patch, PatchType type);

// An API object as a manifest: apiVersion, kind, metadata (name, namespace, labels, annotations
// without kn-lab.io/ ones) and spec; what the API server sets (uid, creationTimestamp, status,
// clusterIPs, ...) is dropped, and what a type change makes void (a ClusterIP Service's nodePorts
// and externalTrafficPolicy), as the API server drops them.
Json as_manifest(const Json& object);

// A YAML document as JSON (the L7 objects' records; a patch written in YAML). `where` names the
// text in errors.
Result<Json> parse_yaml_json(std::string_view text, std::string_view where);

}  // namespace knlab::kube
