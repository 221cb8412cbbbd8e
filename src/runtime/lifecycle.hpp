// Lab lifecycle: bring a lab up, take it down, read what is up. The CLI's subcommands are thin
// wrappers around these; everything here holds the lab's lock while it works.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/images.hpp"
#include "lab/model.hpp"
#include "net/executor.hpp"
#include "ops/op.hpp"
#include "plan/plan.hpp"
#include "runtime/state.hpp"

namespace knlab {

// Fails with a kPermission error unless the process may create namespaces (root).
Status require_root(std::string_view what);

// Resolves argv[0] of every container and daemon op to a path (before anything is created),
// naming the container or daemon whose program is missing.
Status resolve_programs(std::vector<Op>& ops);
// The processes a committed transaction started, into the lab's record.
void record_processes(const Transaction& txn, LabState& state);

struct UpHooks {
  std::function<void(const Op&)> on_op;  // called before each op (for -v)
  std::string cni_override;              // recorded so that later commands see the same lab
  std::string proxy_mode_override;       // the same for `up --proxy-mode`
  const PlanMemory* memory = nullptr;    // a restored lab's: pods get the names and addresses they had
  bool dry_run = false;                  // a live change: plan its ops, change nothing
};

struct UpResult {
  LabPlan plan;
  bool already_up = false;
  std::vector<std::string> drift;     // with already_up: what was found wrong (and repaired)
  std::vector<std::string> unrepaired;  // drift that needs `down` and `up`
  std::vector<std::string> warnings;
  double seconds = 0;
};

// Reads the YAML manifests a lab file lists (relative to the lab file) and applies them to the
// lab: their pods, deployments and services join the lab's, their L7 objects go to lab.l7.
Status apply_lab_manifests(Lab& lab);

// Builds the lab. Validates and resolves everything first (a bad lab changes nothing); on a
// failure halfway, what was made is undone before the error is returned. A lab that is already
// up is left as it is.
Result<UpResult> lab_up(const Lab& lab, const std::string& lab_text, const UpHooks& options);

struct DownResult {
  std::size_t namespaces = 0;
  std::size_t processes = 0;
  std::size_t files = 0;
  double seconds = 0;
};

// Removes everything of the lab: its processes (found by namespace, not only by record), its
// namespaces, its files under /etc/netns, its record. Works on a half-made lab and without a
// record. A lab that is not up gives a result of zeros.
Result<DownResult> lab_down(const std::string& lab);

// What is up, for views (status, get, exec, logs).
struct PodView {
  const PodPlan* pod = nullptr;
  const ProcessRecord* pause = nullptr;
  bool running = false;
  int ready = 0;  // containers alive
  int total = 0;
};
struct LabView {
  LabState state;
  LabPlan plan;
  std::vector<PodView> pods;  // in plan order
  const PodView* pod(std::string_view name) const;
};
Result<LabView> view_lab(const std::string& lab);

// The lab to act on when the user named none: the only one up, or an error listing them.
Result<std::string> default_lab(std::string_view command);

// The image catalogue (images.toml) from kn-lab's data folders ($KNLAB_DATA, then
// share/kn-lab and data next to the binary's folder, then the install prefix).
Result<ImageCatalogue> load_image_catalogue();
// The catalogue when the lab runs images (deployments, pods with image =), else an empty one.
Result<ImageCatalogue> catalogue_for(const Lab& lab);

// Finds a lab file: an existing path, or a name looked up in the installed labs folders
// ("02-pod-to-pod-same-node" or "02-pod-to-pod-same-node.toml").
Result<std::string> find_lab_file(const std::string& arg);
std::vector<std::string> lab_search_dirs();
// The folders exercise files (exercises/NN-name.toml) are looked up in, as labs are:
// $KNLAB_EXERCISES, share/kn-lab/exercises and exercises next to the binary's folder, the
// install prefix. `exercise_files()`: the .toml files of the first folder that has any, sorted.
std::vector<std::string> exercise_search_dirs();
std::vector<std::string> exercise_files();

}  // namespace knlab
