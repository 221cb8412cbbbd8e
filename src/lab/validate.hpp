// The one validator of a whole lab model: the rules that hold between objects and against the
// cluster's settings (unique names, a pod's name against the nodes', Service port names, node
// ports, cluster IPs), whatever the objects were written in. The readers (lab/loader.hpp for
// TOML, lab/manifest.hpp for YAML) check the syntax and type of each field; `validate` checks
// the rest, so that one rule gives one message in both formats, at the file:line:column where
// the user wrote the value (or the command-line option that made the object).
//
// Used by `up` (parse_lab), by apply -f (apply_manifest) and by every live change before it is
// planned.
#pragma once

#include "core/error.hpp"
#include "lab/model.hpp"

namespace knlab {

Status validate(const Lab& lab);
// The rules of one Service alone (its ports), for a reader that checks each object as it reads
// it (parse_manifests); validate() applies them too.
Status validate_service(const ServiceSpec& s);

}  // namespace knlab
