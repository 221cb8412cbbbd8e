// Live changes to a running lab, the way Kubernetes' control loop makes them: the desired state
// (the lab model recorded under /run/kn-lab/<lab>/lab.toml) is changed, validated as a whole,
// planned again with the lab's memory (pods keep their addresses), and the kernel is brought to
// it, changing only what differs: new pods are built, removed pods torn down, the iptables
// tables of nodes whose rules changed are replaced (one commit per table), the cluster DNS and
// the nginx data planes (Ingress, Gateways) reloaded. All under the lab's lock, so two commands at once are serialised.
// Every step is an op (shown by -v and --dry-run, broken by the fault-injection tests); the
// record is written ahead of the kernel, so a change killed anywhere is finished by `up`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/model.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

// Edits the desired model (and, to replace a pod, the memory). Errors abort the change.
using Mutation = std::function<Status(Lab& desired, PlanMemory& memory)>;

struct ChangeResult {
  std::vector<std::string> added;    // pods built
  std::vector<std::string> removed;  // pods torn down
  std::size_t tables = 0;            // iptables tables replaced
  std::size_t nft_tables = 0;        // nftables mode: nodes' kube-proxy tables changed (a delta each)
  std::size_t ipsets = 0;            // with NetworkPolicies: the sets kept in step, when any changed
  std::vector<std::string> reloaded; // nginx data planes reloaded ("<ns>/<name>")
  double seconds = 0;
  LabPlan plan;                      // the lab as it is now
  std::vector<Op> ops;               // with UpHooks::dry_run: what the change would do, in order
  bool dry_run = false;
};

Result<ChangeResult> lab_change(const std::string& lab, const Mutation& mutate, const UpHooks& hooks);

// The replica index of a Deployment's pod, given its name (nullopt: not one of its pods).
std::optional<int> replica_index(const DeploymentSpec& d, const PlanMemory& memory, std::string_view pod);

}  // namespace knlab
