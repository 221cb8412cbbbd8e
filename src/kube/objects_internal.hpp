// What the builders of each kind share (internal to src/kube).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kube/objects.hpp"

namespace knlab::kube {

// apiVersion, kind and metadata (name, namespace, uid, creationTimestamp, resourceVersion).
Json object(const LabView& v, const KindInfo& k, const std::string& ns, const std::string& name);
Json metadata(const LabView& v, std::string_view kind, const std::string& ns, const std::string& name);
Json labels(const std::map<std::string, std::string>& l);
// The node's InternalIP ("" in a one-node lab without an underlay).
std::string node_ip(const LabView& v, const std::string& node);

// One object per item, by `make(view, item)`.
template <class T, class Make>
std::vector<Json> objects_from(const LabView& v, const std::vector<T>& items, Make make) {
  std::vector<Json> out;
  out.reserve(items.size());
  for (const T& x : items) out.push_back(make(v, x));
  return out;
}

std::vector<Json> pod_objects(const LabView& v);
std::vector<Json> deployment_objects(const LabView& v);
std::vector<Json> replicaset_objects(const LabView& v);
std::vector<Json> service_objects(const LabView& v);
std::vector<Json> endpoints_objects(const LabView& v);
std::vector<Json> endpointslice_objects(const LabView& v);
std::vector<Json> l7_objects(const LabView& v, Kind kind);

// "web-7d4b9c8f6d" of pod "web-7d4b9c8f6d-x2x4z": the ReplicaSet that owns a Deployment's pod.
std::string replicaset_of(const PodPlan& p);

}  // namespace knlab::kube
