// metadata of every object kept as a document (lab/l7.hpp, lab/netpol.hpp).
#pragma once

#include <map>
#include <string>

#include "core/error.hpp"

namespace knlab {

// metadata of every object: name, namespace, labels, annotations.
struct ObjectMeta {
  std::string name;
  std::string ns = "default";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  SourceLocation where;  // where the document starts
  std::string yaml;      // the document, canonical form (lab/l7.hpp)
};

}  // namespace knlab
