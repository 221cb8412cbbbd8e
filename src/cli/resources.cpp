#include "cli/resources.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/text.hpp"
#include "lab/names.hpp"

namespace knlab {

namespace {

Result<const KindInfo*> kind_arg(const std::string& name, std::string_view command) {
  const KindInfo* k = find_kind(name);
  if (!k)
    return fail(input_error(SourceLocation{fmt::format("kn-lab {}", command), 0, 0},
                            fmt::format("the server doesn't have a resource type \"{}\"", name),
                            did_you_mean(name, kind_names()) + "kinds: " + join(kind_names(), ", ")));
  return k;
}

std::string name_of(const Json& o) { return o["metadata"].value("name", ""); }

bool in_scope(const Json& o, const KindInfo& k, const ResourceScope& s) {
  const Json& md = o["metadata"];
  if (k.namespaced && !s.all_namespaces && md.value("namespace", "") != s.ns) return false;
  return s.selector.matches(md.value("labels", Json::object()));
}

// The objects named `name` (or, with name_prefixes and none of that name, starting with it).
std::vector<Json> named(const std::vector<Json>& all, const std::string& name, bool prefixes) {
  std::vector<Json> out;
  for (const Json& o : all)
    if (name_of(o) == name) out.push_back(o);
  if (out.empty() && prefixes)
    for (const Json& o : all)
      if (name_of(o).starts_with(name)) out.push_back(o);
  return out;
}

}  // namespace

Result<std::vector<ResourceRequest>> resource_requests(const std::vector<std::string>& args, std::string_view command) {
  std::vector<ResourceRequest> out;
  if (args.front().find('/') != std::string::npos) {
    for (const std::string& a : args) {
      auto slash = a.find('/');
      if (slash == std::string::npos)
        return fail(input_error(SourceLocation{fmt::format("kn-lab {}", command), 0, 0},
                                fmt::format("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (\"{}\")", a),
                                "write every object as TYPE/NAME, or give TYPE then NAME..."));
      out.push_back(ResourceRequest{KN_TRY(kind_arg(a.substr(0, slash), command)), {a.substr(slash + 1)}});
    }
    return out;
  }
  std::vector<std::string> names(args.begin() + 1, args.end());
  for (std::string_view t : split(args.front(), ',')) {
    if (t == "all") {
      for (Kind k : {Kind::kPod, Kind::kService, Kind::kDeployment, Kind::kReplicaSet}) out.push_back(ResourceRequest{&kind_info(k), names});
      continue;
    }
    out.push_back(ResourceRequest{KN_TRY(kind_arg(std::string(t), command)), names});
  }
  return out;
}

Status check_field_selector(const std::vector<ResourceRequest>& reqs, const ResourceScope& scope) {
  for (const ResourceRequest& r : reqs) KN_TRY(FieldSelector::parse(scope.field_selector, r.kind->kind));
  return {};
}

Result<std::vector<Found>> find_objects(const LabView& v, const std::vector<ResourceRequest>& reqs, const ResourceScope& scope,
                                        std::string_view command) {
  std::vector<Found> out;
  for (const ResourceRequest& r : reqs) {
    std::vector<Json> all;
    FieldSelector fields = KN_TRY(FieldSelector::parse(scope.field_selector, r.kind->kind));
    for (Json& obj : objects_of(v, r.kind->id))
      if (in_scope(obj, *r.kind, scope) && fields.matches(obj)) all.push_back(std::move(obj));
    Found f{r.kind, {}};
    if (r.names.empty()) f.objects = std::move(all);
    for (const std::string& n : r.names) {
      std::vector<Json> these = named(all, n, scope.name_prefixes);
      if (these.empty())
        return fail(state_error(std::string(command), fmt::format("Error from server (NotFound): {} \"{}\" not found", r.kind->resource(), n)));
      f.objects.insert(f.objects.end(), these.begin(), these.end());
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace knlab
