// Processes of a lab: pause processes that hold pods' namespaces, containers that join them,
// and `kn-lab exec` sessions. Programs are always started with an argv (execve), never through a
// shell, so no learner string is ever interpreted.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"

namespace knlab {

struct ProcessId {
  pid_t pid = 0;
  unsigned long long start = 0;  // start time in clock ticks since boot (/proc/PID/stat field 22)
};

// The start time of a live process, or nullopt if it does not exist (or is a zombie).
std::optional<unsigned long long> process_start_time(pid_t pid);
// True when the process exists, is not a zombie and is the same one (same start time).
bool process_alive(const ProcessId& p);

// The parent of a live process, nullopt if gone (or a zombie).
std::optional<pid_t> parent_of(pid_t pid);
// The session of a live process (containers and daemons lead their own: setsid), nullopt if gone.
std::optional<pid_t> session_of(pid_t pid);

// Resolves a program name to an absolute path: names with a '/' as they are; kn-lab's own
// helpers (kn-pause, kn-netexec) from the directory of the running kn-lab binary first; anything
// else on PATH. Fails with a kMissing error naming the program.
Result<std::string> resolve_program(const std::string& name);

// Starts the pod's pause process: it joins `netns`, gets fresh UTS and IPC namespaces with
// `hostname`, leaves kn-lab's session and runs until killed.
Result<ProcessId> spawn_pause(const std::string& pause_path, const NetnsRef& netns,
                              const std::string& hostname);

// The namespaces and view of the filesystem a process of a pod runs in.
struct PodContext {
  pid_t pause_pid = 0;      // net, UTS and IPC namespaces are this process's
  std::string etc_dir;      // /etc/netns/<ns>: hosts and resolv.conf bind-mounted over /etc
  bool privileged = false;  // keep every capability (else Docker's default set only)
};

// Starts a container: argv[0] must already be resolved. Daemonised (own session), stdin from
// /dev/null, stdout and stderr appended to `log_path`.
Result<ProcessId> spawn_container(const PodContext& pod, const std::vector<std::string>& argv,
                                  const std::vector<std::pair<std::string, std::string>>& env,
                                  const std::string& log_path);

// Starts a daemon inside a namespace (no pod: a node's or the router's BIRD). argv[0] must be
// resolved. Daemonised like a container, output appended to `log_path`.
Result<ProcessId> spawn_daemon(const NetnsRef& netns, const std::vector<std::string>& argv,
                               const std::string& log_path);

// Moves the calling process into the pod (namespaces and /etc view), then execs argv with the
// current environment. Returns only on failure. Used by `kn-lab exec`.
Error exec_in_pod(const PodContext& pod, const std::vector<std::string>& argv);
// Runs argv in the pod as a child attached to this terminal (kn-lab run -i), and returns its
// exit status (128 + the signal when killed), giving the terminal back to kn-lab afterwards.
Result<int> run_in_pod(const PodContext& pod, const std::vector<std::string>& argv);
// Same as exec_in_pod for a namespace without a pause process (a node): network namespace and /etc view only.
// With `run_bird`, that directory (a node's BIRD directory) covers /run/bird, so that a plain
// `birdc` finds the node's BIRD.
Error exec_in_netns(const NetnsRef& netns, const std::vector<std::string>& argv, const std::string& run_bird = {});

// Pids of live processes whose network namespace is one of `namespaces`.
std::vector<pid_t> processes_in_netns(const std::vector<NsId>& namespaces);

// SIGTERM, then SIGKILL for whatever is still alive after `grace_ms`; waits until all are gone
// (or a bounded time passed). Returns the number of processes signalled.
std::size_t terminate_processes(const std::vector<pid_t>& pids, int grace_ms);

}  // namespace knlab
