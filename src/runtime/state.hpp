// A lab's record under /run/kn-lab/<lab>/ (directory 0700, files 0600: root only):
//   lab.toml    the lab file as it was brought up (the plan is re-derived from it)
//   l7.yaml     the Ingress / Gateway API objects and TLS Secrets applied to it (manifests)
//   nginx/      the files of each nginx data plane (config, certificates, logs, pid)
//   state.toml  status, creation time, and the processes started (pid + start time)
//   logs/       one log file per container
// The record is written before `up` changes anything and again when it is done, so a crash
// leaves enough to clean up. It is never the only source of truth: `down` also scans the kernel.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/loader.hpp"
#include "lab/model.hpp"
#include "plan/plan.hpp"
#include "runtime/process.hpp"

namespace knlab {

struct ProcessRecord {
  std::string pod;
  std::string container;  // empty for the pause process
  ProcessId id;
};

// kCreating while `up` runs (a crash leaves it so: `up` then refuses, `down` cleans), then kUp.
enum class LabStatus { kCreating, kUp, kUnknown };
std::string_view to_string(LabStatus s);  // "creating", "up", "unknown": as state.toml spells it

struct LabState {
  std::string lab;
  std::string source;         // where the lab file came from
  LabStatus status = LabStatus::kUnknown;
  std::string cni_override;   // `up --cni`, applied again whenever the recorded lab is read
  std::time_t created = 0;
  std::vector<ProcessRecord> processes;
  PlanMemory memory;          // addresses and replica generations of the running lab
  std::string proxy_mode_override;  // `up --proxy-mode`, like cni_override

  const ProcessRecord* find(std::string_view pod, std::string_view container) const;
};

// The desired state is lab_text (lab.toml) and l7_text (l7.yaml); lab_text "" keeps both as they are.
// A lab name from the command line, checked before it becomes a path or a namespace prefix
// (the loader checks names in files the same way).
Status check_lab_name(const std::string& lab);

// The command line's choices recorded with the lab (`up --cni`, `up --proxy-mode`), to be
// applied again whenever the recorded lab is read.
LabOverrides recorded_overrides(const LabState& state);

Status save_state(const LabState& state, const std::string& lab_text, const std::string& l7_text = {});
Result<LabState> load_state(const std::string& lab);
// The text of one file of the record ("lab.toml", "l7.yaml"); "" when it does not exist.
Result<std::string> recorded_text(const std::string& lab, const std::string& file);
// The lab as recorded (parsed from the saved copy) and its plan.
Result<Lab> load_recorded_lab(const std::string& lab);

// The desired state kept under /var/lib/kn-lab/<lab> while the lab is up (it survives a reboot,
// /run does not): the lab (with its L7 objects), its text, and its state without processes
// (the memory of pod addresses and names, the --cni choice).
struct SavedLab {
  Lab lab;
  std::string lab_text;
  LabState state;
};
Result<SavedLab> load_saved_lab(const std::string& lab);
std::vector<std::string> list_saved_labs();
std::size_t forget_saved_lab(const std::string& lab);  // files removed

// Labs with a record or namespaces (a lab half-made by a killed `up` has namespaces only).
std::vector<std::string> list_labs();

// Takes an exclusive lock for one lab (flock on /run/kn-lab/<lab>.lock); released on destruction.
class LabLock {
 public:
  static Result<LabLock> acquire(const std::string& lab);
  LabLock(LabLock&&) = default;
  LabLock& operator=(LabLock&&) = default;
  ~LabLock();
  // Removes the lock file (by `down`, while holding it).
  void remove_file();

 private:
  LabLock(std::string path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  Fd fd_;
};

}  // namespace knlab
