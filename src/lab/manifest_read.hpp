// What the readers of each kind share (internal to src/lab): the document being read, and the
// readers of names, labels, host names and controller names. Each kind's reader is declared
// here and registered in lab/kinds.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lab/kinds.hpp"
#include "lab/manifest.hpp"
#include "core/label_selector.hpp"
#include "lab/yaml_doc.hpp"

namespace knlab {

inline constexpr const char* kNameHint =
    "use lowercase letters, digits and '-', starting and ending with a letter or digit "
    "(kn-lab names become parts of namespace, file and host names)";

// What an object needs besides its own fields: the manifest it goes to.
struct Reading {
  const KindInfo& info;
  const Fields& top;
  ObjectMeta meta;
  Manifest& m;
};

Status check_name(const Fields& f, std::string_view key, const std::string& name, std::size_t max = kMaxObjectNameLength);
Result<std::string> optional_name(const Fields& f, std::string_view key);
Result<std::string> required_name(const Fields& f, std::string_view key, std::string hint);
Result<std::map<std::string, std::string>> read_labels(const Fields& f, std::string_view key);
Result<std::string> read_hostname(const Fields& f, std::string_view key, bool wildcard);
Result<std::vector<std::string>> read_hostnames(const Fields& f, std::string_view key);
// A controller name: a domain-prefixed path such as k8s.io/ingress-nginx.
Result<std::string> read_controller(const Fields& f, std::string_view key, std::string_view example);
// "{app=web,tier=db}"
std::string labels_str(const std::map<std::string, std::string>& labels);

// The readers of each kind (manifest_workloads.cpp, manifest_l7.cpp).
Status read_namespace(Reading& r);
Status read_pod(Reading& r);
Status read_deployment(Reading& r);
Status read_service(Reading& r);
Status read_secret(Reading& r);
Status read_ingress_class(Reading& r);
Status read_ingress(Reading& r);
Status read_gateway_class(Reading& r);
Status read_gateway(Reading& r);
Status read_http_route(Reading& r);
Status read_l4_route(Reading& r);
Status read_reference_grant(Reading& r);
Status read_network_policy(Reading& r);
// metav1.LabelSelector at `key` (absent: empty, which selects everything).
Result<LabelSelector> read_label_selector(const Fields& f, std::string_view key);

}  // namespace knlab
