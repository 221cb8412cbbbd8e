// Graceful reloads of a running nginx data plane: SIGHUP to the master (the container process),
// which starts workers on the new configuration while the old ones finish their requests, as
// ingress-nginx does on every change of Ingresses or Endpoints.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "plan/plan.hpp"
#include "runtime/process.hpp"
#include "runtime/state.hpp"

namespace knlab {

// Replaces a data plane's files (path -> content), each atomically (a temporary file renamed over
// it): an nginx that is starting or reloading reads either the old file or the new one, never
// a half-written one.
Status replace_files(const std::vector<std::pair<std::string, std::string>>& files);

// Tells the master to reload and waits (up to `timeout_ms`) until a worker on the new
// configuration runs and the old workers are gone (at most 1 s more: a worker finishing a long
// request no longer accepts): from then on new connections get the new configuration, so the
// pods the old one named may go. Fails with the end of the data plane's error log when nginx
// does not take the configuration.
Status reload_nginx(const ProcessId& master, const std::string& error_log, int timeout_ms = 5000);

// Whether nginx (its master) runs a configuration older than `conf` on disk: its youngest worker
// started before the file was written (a change killed between writing and reloading).
bool nginx_runs_older_config(const ProcessId& master, const std::string& conf);

// The reload of a data plane's nginx (its master: the pod's first container, as recorded), or
// nothing when no master is recorded.
std::vector<Op> nginx_reload_ops(const LabPlan& plan, const DataPlanePlan& dp, const LabState& state);

// SIGHUP to the cluster DNS (dnsmasq, kube-system): it reads its hosts file again.
std::vector<Op> dns_reload_ops(const LabPlan& plan, const LabState& state);

}  // namespace knlab
