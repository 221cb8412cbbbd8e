// The lab loader: TOML text -> validated Lab model.
//
// Contract: no side effects (no files created, nothing in the kernel touched), never throws,
// never aborts on any input (it is a fuzz target). Either the whole file is valid and a Lab
// comes back, or the first problem comes back as an Error of kind kInput naming
// file:line:column, what is wrong and what is allowed (with a "did you mean" for typos).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "lab/model.hpp"

namespace knlab {

// What the command line may change in a lab file before it is validated (`up --cni`,
// `up --proxy-mode`), so the same cluster can be built in each CNI and kube-proxy mode.
struct LabOverrides {
  std::optional<CniMode> cni;
  std::optional<ProxyMode> proxy_mode;
};

// Parses and validates lab text. `source_name` is used in error locations.
Result<Lab> parse_lab(std::string_view text, std::string source_name, const LabOverrides& overrides = {});

// Reads `path` and parses it. A missing or unreadable file is an input error too.
Result<Lab> load_lab_file(const std::string& path, const LabOverrides& overrides = {});

// "vxlan" | "host-gw" | "bgp"
std::optional<CniMode> parse_cni_mode(std::string_view s);
// "iptables" | "nftables"
std::optional<ProxyMode> parse_proxy_mode(std::string_view s);
// "ClusterIP" | "NodePort" | "LoadBalancer"
std::optional<ServiceType> parse_service_type(std::string_view s);

}  // namespace knlab
