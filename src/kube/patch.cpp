#include "kube/patch.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

namespace knlab::kube {

namespace {

Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  if (!s.empty() && s.size() < 19 && s.find_first_not_of("-0123456789") == std::string::npos && s.find('-', 1) == std::string::npos)
    return std::strtoll(s.c_str(), nullptr, 10);
  return s;
}

Json from_yaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = from_yaml(it->second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (auto it = n.begin(); it != n.end(); ++it) a.push_back(from_yaml(*it));
      return a;
    }
    case YAML::NodeType::Scalar: return scalar(n);
    default: return nullptr;
  }
}

// The key Kubernetes merges a list by in a strategic merge patch (its patchMergeKey), from the
// field's name and, for "ports", what its elements hold; empty for lists that are replaced.
std::string merge_key(const std::string& field, const Json& sample) {
  if (field == "ports") return sample.contains("containerPort") ? "containerPort" : "port";
  if (field == "containers" || field == "initContainers" || field == "env" || field == "volumes") return "name";
  if (field == "volumeMounts") return "mountPath";
  if (field == "conditions") return "type";
  return "";
}

Json strategic(Json target, const Json& patch);

Json strategic_list(const Json& target, const Json& patch, const std::string& field) {
  if (!target.is_array() || patch.empty()) return patch;
  std::string key = merge_key(field, patch.front());
  if (key.empty()) return patch;
  Json out = target;
  for (const Json& item : patch) {
    if (!item.is_object() || !item.contains(key)) continue;
    auto same = [&](const Json& x) { return x.is_object() && x.contains(key) && x[key] == item[key]; };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (item.value("$patch", "") == "delete") {
      if (it != out.end()) out.erase(it);
      continue;
    }
    if (it == out.end()) out.push_back(item);
    else *it = strategic(*it, item);
  }
  return out;
}

Json strategic(Json target, const Json& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = Json::object();
  for (auto& [k, v] : patch.items()) {
    if (v.is_null()) target.erase(k);
    else if (v.is_object()) target[k] = strategic(target.contains(k) ? target[k] : Json::object(), v);
    else if (v.is_array()) target[k] = strategic_list(target.contains(k) ? target[k] : Json::array(), v, k);
    else target[k] = v;
  }
  return target;
}

// The custom resources (Gateway API) take no strategic merge patch, as the API server says.
bool is_custom_resource(const Json& object) {
  return object.value("apiVersion", "").starts_with("gateway.networking.k8s.io/");
}

}  // namespace

Result<PatchType> parse_patch_type(std::string_view name) {
  if (name == "strategic") return PatchType::kStrategic;
  if (name == "merge") return PatchType::kMerge;
  if (name == "json") return PatchType::kJson;
  return fail(input_error(SourceLocation{"--type", 0, 0}, fmt::format("--type must be one of [json merge strategic], not \"{}\"", name)));
}

Result<Json> parse_yaml_json(std::string_view text, std::string_view where) {
  try {
    return from_yaml(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return fail(input_error(SourceLocation{std::string(where), static_cast<unsigned>(e.mark.line + 1), static_cast<unsigned>(e.mark.column + 1)},
                            fmt::format("the text is neither JSON nor YAML: {}", e.msg)));
  }
}

Result<Json> parse_patch(std::string_view text, std::string_view where) {
  Json patch = Json::parse(text, nullptr, false);
  if (patch.is_discarded()) patch = KN_TRY(parse_yaml_json(text, where));
  if (!patch.is_object() && !patch.is_array())
    return fail(input_error(SourceLocation{std::string(where), 0, 0}, "a patch is a JSON or YAML object (or, with --type=json, a list of operations)",
                            "-p '{\"spec\":{\"type\":\"NodePort\"}}'"));
  return patch;
}

Result<Json> apply_patch(const Json& object, const Json& patch, PatchType type) {
  SourceLocation where{"-p/--patch", 0, 0};
  if (type == PatchType::kJson) {
    if (!patch.is_array())
      return fail(input_error(where, "a JSON patch is a list of operations", "-p '[{\"op\":\"replace\",\"path\":\"/spec/type\",\"value\":\"NodePort\"}]'"));
    try {
      return object.patch(patch);
    } catch (const Json::exception& e) {
      return fail(input_error(where, fmt::format("the JSON patch does not apply: {}", e.what())));
    }
  }
  if (!patch.is_object()) return fail(input_error(where, "a merge patch is a JSON or YAML object", "-p '{\"spec\":{\"replicas\":3}}'"));
  if (type == PatchType::kMerge) {
    Json out = object;
    out.merge_patch(patch);
    return out;
  }
  if (is_custom_resource(object))
    return fail(input_error(where, fmt::format("application/strategic-merge-patch+json is not supported by {}, Kind={}: custom resources take "
                                               "application/json-patch+json and application/merge-patch+json",
                                               object.value("apiVersion", ""), object.value("kind", "")),
                            "give --type=merge (or --type=json)"));
  return strategic(object, patch);
}

Json as_manifest(const Json& object) {
  Json out = {{"apiVersion", object.value("apiVersion", "v1")}, {"kind", object.value("kind", "")}};
  const Json md = object.value("metadata", Json::object());
  Json meta = Json::object();
  for (const char* k : {"name", "namespace", "labels"})
    if (md.contains(k) && !md[k].is_null()) meta[k] = md[k];
  Json annotations = Json::object();
  if (md.contains("annotations") && md["annotations"].is_object())
    for (auto& [k, v] : md["annotations"].items())
      if (!k.starts_with("kn-lab.io/")) annotations[k] = v;
  if (!annotations.empty()) meta["annotations"] = annotations;
  out["metadata"] = meta;
  if (object.contains("spec")) out["spec"] = object["spec"];
  for (const char* k : {"data", "type"})  // a Secret's
    if (object.contains(k)) out[k] = object[k];
  if (out.value("kind", "") == "Service" && out.contains("spec")) {
    Json& spec = out["spec"];
    for (const char* k : {"clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"}) spec.erase(k);
    if (spec.value("type", "ClusterIP") == "ClusterIP") {
      spec.erase("externalTrafficPolicy");
      if (spec.contains("ports") && spec["ports"].is_array())
        for (Json& p : spec["ports"]) p.erase("nodePort");
    }
  }
  return out;
}

}  // namespace knlab::kube
