// What patch, label and annotate share: the object a command names, and a patch of it applied
// to the running lab (cli/patch.cpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.hpp"
#include "kube/patch.hpp"
#include "lab/kinds.hpp"

namespace knlab {

struct ObjectTarget {
  const KindInfo* kind = nullptr;
  std::string ns;  // empty for cluster-scoped kinds
  std::string name;
};

// kubectl's TYPE NAME or TYPE/NAME, one object.
Result<ObjectTarget> object_target(const std::vector<std::string>& args, const std::string& ns, std::string_view verb);

// The object after a command's change of it (a patch, an edit), from the object before.
using ObjectEdit = std::function<Result<kube::Json>(const kube::Json& before)>;

// Changes the object by `edit` and puts the result into the lab as `apply -f` would (only the
// labels of a pod, only the type, externalTrafficPolicy and sessionAffinity of a data plane's
// Service); prints "service/x <verb>ed", or that nothing changed.
Result<int> change_object(const std::string& lab_option, const ObjectTarget& t, const ObjectEdit& edit, std::string_view verb,
                          const GlobalOptions& g);

// Applies `patch` to the object and the result to the lab; prints "service/x patched" (or
// "labeled", "annotated" after the verb), or "(no change)".
Result<int> patch_object(const std::string& lab_option, const ObjectTarget& t, const kube::Json& patch, kube::PatchType type,
                         std::string_view verb, const GlobalOptions& g);

}  // namespace knlab
