#include "runtime/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace knlab {

namespace {

// Owns the C strings and pointer arrays an exec needs, built before fork: the child of a
// vfork-style clone shares our memory and must not allocate.
class CArgv {
 public:
  explicit CArgv(const std::vector<std::string>& items) : storage_(items) {
    for (auto& s : storage_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char* const* get() { return ptrs_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> ptrs_;
};

std::vector<std::string> env_strings(const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> out;
  for (auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Shared between parent and child of a CLONE_VM|CLONE_VFORK clone: the child reports the step
// that failed and its errno here before _exit, the parent reads it once the clone returns.
struct ChildReport {
  const char* step = nullptr;
  int err = 0;
};

[[noreturn]] void child_fail(ChildReport* r, const char* step) {
  r->step = step;
  r->err = errno;
  _exit(127);
}

void child_reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Everything a child needs to become a process of a pod, prepared by the parent.
struct PodEntry {
  int net_fd = -1, uts_fd = -1, ipc_fd = -1;  // -1: keep ours (and for UTS/IPC: new ones)
  bool new_uts_ipc = false;                   // pause: fresh UTS and IPC namespaces
  const char* hostname = nullptr;
  std::size_t hostname_len = 0;
  const char* hosts_src = nullptr;            // /etc/netns/<ns>/hosts, if it exists
  const char* resolv_src = nullptr;
  const char* run_bird_src = nullptr;         // bound over /run/bird
  bool remount_sys = false;
  int drop_caps_above = -1;                   // >= 0: keep only Docker's default capabilities
};

bool docker_default_cap(int cap) {
  switch (cap) {
    case CAP_CHOWN: case CAP_DAC_OVERRIDE: case CAP_FSETID: case CAP_FOWNER: case CAP_MKNOD:
    case CAP_NET_RAW: case CAP_SETGID: case CAP_SETUID: case CAP_SETFCAP: case CAP_SETPCAP:
    case CAP_NET_BIND_SERVICE: case CAP_SYS_CHROOT: case CAP_KILL: case CAP_AUDIT_WRITE:
      return true;
    default:
      return false;
  }
}

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = 40;
  in >> n;
  return n;
}

// Runs in the child (or, for exec, in kn-lab itself just before execve). Raw syscalls only.
// Returns the step that failed (errno tells why), or nullptr.
const char* child_enter(const PodEntry& e) {
  if (e.net_fd >= 0 && setns(e.net_fd, CLONE_NEWNET) != 0) return "join the network namespace";
  if (e.uts_fd >= 0 && setns(e.uts_fd, CLONE_NEWUTS) != 0) return "join the UTS namespace";
  if (e.ipc_fd >= 0 && setns(e.ipc_fd, CLONE_NEWIPC) != 0) return "join the IPC namespace";
  if (e.new_uts_ipc) {
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0) return "create UTS and IPC namespaces";
    if (sethostname(e.hostname, e.hostname_len) != 0) return "set the hostname";
  }
  if (e.hosts_src || e.resolv_src || e.remount_sys || e.run_bird_src) {
    // A private mount namespace, slave to the host's, in which the pod's own hosts and
    // resolv.conf cover the host's (the /etc/netns convention of `ip netns exec`).
    if (unshare(CLONE_NEWNS) != 0) return "create a mount namespace";
    if (mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return "make / a slave mount";
    if (e.hosts_src && mount(e.hosts_src, "/etc/hosts", "none", MS_BIND, nullptr) != 0)
      return "bind-mount the pod's /etc/hosts";
    if (e.resolv_src && mount(e.resolv_src, "/etc/resolv.conf", "none", MS_BIND, nullptr) != 0)
      return "bind-mount the pod's /etc/resolv.conf";
    if (e.run_bird_src && mount(e.run_bird_src, "/run/bird", "none", MS_BIND, nullptr) != 0)
      return "bind-mount the node's BIRD directory on /run/bird";
    // /sys/class/net should show the pod's interfaces, as under `ip netns exec`. Best effort.
    if (e.remount_sys && umount2("/sys", MNT_DETACH) == 0) mount("sysfs", "/sys", "sysfs", 0, nullptr);
  }
  if (e.drop_caps_above >= 0) {
    // Containers get Docker's default capabilities: enough to ping, capture and read routes,
    // not to rewire the node (no NET_ADMIN, no SYS_ADMIN). Dropped from the bounding set, so
    // the exec'd program (root) gets no more than these.
    for (int cap = 0; cap <= e.drop_caps_above; ++cap)
      if (!docker_default_cap(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return "drop capabilities";
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  }
  return nullptr;
}

struct SpawnArgs {
  PodEntry entry;
  bool daemon = true;
  int stdin_fd = -1, stdout_fd = -1;
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  ChildReport report;
};

int spawn_child(void* p) {
  auto* a = static_cast<SpawnArgs*>(p);
  if (const char* step = child_enter(a->entry)) child_fail(&a->report, step);
  if (a->daemon && setsid() < 0) child_fail(&a->report, "start a new session");
  if (dup2(a->stdin_fd, 0) < 0 || dup2(a->stdout_fd, 1) < 0 || dup2(a->stdout_fd, 2) < 0)
    child_fail(&a->report, "redirect standard streams");
  syscall(SYS_close_range, 3u, ~0u, 0u);
  if (chdir("/") != 0) child_fail(&a->report, "change directory to /");
  child_reset_signals();
  execve(a->path, a->argv, a->envp);
  child_fail(&a->report, "execute the program");
}

// clone(CLONE_VM | CLONE_VFORK): like vfork, the parent sleeps until the child has exec'd or
// died, and no page tables are copied, which keeps a pod start well under a millisecond.
Result<pid_t> spawn(SpawnArgs& args, const std::string& what) {
  constexpr std::size_t kStack = 64 * 1024;
  auto stack = std::make_unique<char[]>(kStack);
  pid_t pid = ::clone(spawn_child, stack.get() + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) return fail(sys_error("start process", what, errno));
  if (args.report.step) {
    ::waitpid(pid, nullptr, 0);
    Error e = sys_error(fmt::format("start {}: {}", what, args.report.step), args.path, args.report.err);
    return fail(std::move(e));
  }
  return pid;
}

Result<ProcessId> with_start_time(pid_t pid, const std::string& what) {
  auto start = process_start_time(pid);
  if (!start) {
    ::waitpid(pid, nullptr, WNOHANG);
    return fail(sys_error(fmt::format("start {}", what), "(the process exited at once)", ESRCH));
  }
  return ProcessId{pid, *start};
}

bool file_exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

Result<Fd> open_ns(pid_t pid, const char* kind) {
  std::string path = fmt::format("/proc/{}/ns/{}", pid, kind);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Error e = sys_error("open namespace", path, errno);
    if (errno == ENOENT) e.hint = "the pod's pause process is gone: `kn-lab get pods` shows it, `kn-lab up` repairs it";
    return fail(std::move(e));
  }
  return Fd(fd);
}

struct PodFds {
  Fd net, uts, ipc;
  std::string hosts, resolv;
};

Result<PodFds> open_pod(const PodContext& pod) {
  PodFds f;
  f.net = KN_TRY(open_ns(pod.pause_pid, "net"));
  f.uts = KN_TRY(open_ns(pod.pause_pid, "uts"));
  f.ipc = KN_TRY(open_ns(pod.pause_pid, "ipc"));
  if (!pod.etc_dir.empty()) {
    if (file_exists(pod.etc_dir + "/hosts")) f.hosts = pod.etc_dir + "/hosts";
    if (file_exists(pod.etc_dir + "/resolv.conf")) f.resolv = pod.etc_dir + "/resolv.conf";
  }
  return f;
}

PodEntry entry_for(const PodFds& f, bool privileged) {
  PodEntry e;
  e.drop_caps_above = privileged ? -1 : last_cap();
  e.net_fd = f.net.get();
  e.uts_fd = f.uts.get();
  e.ipc_fd = f.ipc.get();
  e.hosts_src = f.hosts.empty() ? nullptr : f.hosts.c_str();
  e.resolv_src = f.resolv.empty() ? nullptr : f.resolv.c_str();
  e.remount_sys = true;
  return e;
}

Error exec_with(const PodEntry& entry, const std::vector<std::string>& argv, const std::string& where) {
  auto path = resolve_program(argv.front());
  if (!path) return path.error();
  CArgv cargv(argv);
  if (const char* step = child_enter(entry)) return sys_error(fmt::format("enter {}: {}", where, step), "", errno);
  ::execv(path->c_str(), cargv.get());
  return sys_error(fmt::format("run in {}", where), *path, errno);
}

}  // namespace

namespace {

// The fields of /proc/<pid>/stat after "pid (comm)" (comm may hold spaces and parentheses: the
// fields start after the last ')'), from field 3 (state) on; nullopt for a gone or zombie process.
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(std::move(f));
  if (fields.empty() || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  return fields;
}

}  // namespace

std::optional<unsigned long long> process_start_time(pid_t pid) {
  auto f = stat_fields(pid);
  if (!f || f->size() < 20) return std::nullopt;
  return std::stoull((*f)[19]);  // field 22: starttime
}

std::optional<pid_t> parent_of(pid_t pid) {
  auto f = stat_fields(pid);
  if (!f || f->size() < 2) return std::nullopt;
  return static_cast<pid_t>(std::stol((*f)[1]));  // field 4: ppid
}

std::optional<pid_t> session_of(pid_t pid) {
  auto f = stat_fields(pid);
  if (!f || f->size() < 4) return std::nullopt;
  return static_cast<pid_t>(std::stol((*f)[3]));  // field 6: session
}

bool process_alive(const ProcessId& p) {
  if (p.pid <= 0) return false;
  auto start = process_start_time(p.pid);
  return start && *start == p.start;
}

Result<std::string> resolve_program(const std::string& name) {
  auto missing = [&](std::string detail) {
    Error e;
    e.kind = ErrorKind::kMissing;
    e.op = "find program";
    e.object = name;
    e.detail = std::move(detail);
    e.hint = "install it (see scripts/install-deps.sh) or give an absolute path";
    return fail(std::move(e));
  };
  if (name.empty()) return missing("empty program name");
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) return missing("not an executable file");
    return name;
  }
  if (name.starts_with("kn-")) {
    std::string own = self_dir() + "/" + name;
    if (::access(own.c_str(), X_OK) == 0) return own;
  }
  const char* env_path = std::getenv("PATH");
  std::string path = env_path && *env_path ? env_path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      struct stat st{};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    start = end + 1;
  }
  return missing("not found on PATH");
}

Result<ProcessId> spawn_pause(const std::string& pause_path, const NetnsRef& netns,
                              const std::string& hostname) {
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return fail(sys_error("open", "/dev/null", errno));
  CArgv argv({pause_path});
  CArgv envp({});
  SpawnArgs a;
  a.entry.net_fd = netns.fd();
  a.entry.new_uts_ipc = true;
  a.entry.hostname = hostname.c_str();
  a.entry.hostname_len = hostname.size();
  a.stdin_fd = a.stdout_fd = devnull.get();
  a.path = pause_path.c_str();
  a.argv = argv.get();
  a.envp = envp.get();
  pid_t pid = KN_TRY(spawn(a, fmt::format("pause process of {}", netns.name())));
  return with_start_time(pid, "pause process");
}

Result<ProcessId> spawn_container(const PodContext& pod, const std::vector<std::string>& argv,
                                  const std::vector<std::pair<std::string, std::string>>& env,
                                  const std::string& log_path) {
  PodFds fds = KN_TRY(open_pod(pod));
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return fail(sys_error("open", "/dev/null", errno));
  Fd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log.valid()) return fail(sys_error("open container log", log_path, errno));
  CArgv cargv(argv);
  CArgv cenv(env_strings(env));
  SpawnArgs a;
  a.entry = entry_for(fds, pod.privileged);
  a.stdin_fd = devnull.get();
  a.stdout_fd = log.get();
  a.path = argv.front().c_str();
  a.argv = cargv.get();
  a.envp = cenv.get();
  pid_t pid = KN_TRY(spawn(a, "container"));
  return with_start_time(pid, fmt::format("container {}", argv.front()));
}

Result<ProcessId> spawn_daemon(const NetnsRef& netns, const std::vector<std::string>& argv,
                               const std::string& log_path) {
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return fail(sys_error("open", "/dev/null", errno));
  Fd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log.valid()) return fail(sys_error("open daemon log", log_path, errno));
  CArgv cargv(argv);
  CArgv cenv({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  SpawnArgs a;
  a.entry.net_fd = netns.fd();
  a.stdin_fd = devnull.get();
  a.stdout_fd = log.get();
  a.path = argv.front().c_str();
  a.argv = cargv.get();
  a.envp = cenv.get();
  pid_t pid = KN_TRY(spawn(a, fmt::format("daemon in {}", netns.name())));
  return with_start_time(pid, argv.front());
}

Error exec_in_pod(const PodContext& pod, const std::vector<std::string>& argv) {
  auto fds = open_pod(pod);
  if (!fds) return fds.error();
  return exec_with(entry_for(*fds, pod.privileged), argv, "pod");
}

Result<int> run_in_pod(const PodContext& pod, const std::vector<std::string>& argv) {
  // Like system(3): the child owns the terminal's signals while it runs.
  struct sigaction ignore{}, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  pid_t child = ::fork();
  if (child < 0) return fail(sys_error("fork", "", errno));
  if (child == 0) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    Error e = exec_in_pod(pod, argv);
    fmt::print(stderr, "{}", e.format());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  // An interactive shell made its own process group the terminal's foreground: take it back.
  if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) != ::getpgrp()) {
    struct sigaction old_ttou{};
    ::sigaction(SIGTTOU, &ignore, &old_ttou);
    ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    ::sigaction(SIGTTOU, &old_ttou, nullptr);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

Error exec_in_netns(const NetnsRef& netns, const std::vector<std::string>& argv, const std::string& run_bird) {
  PodEntry e;
  e.net_fd = netns.fd();
  e.remount_sys = true;
  if (!run_bird.empty() && file_exists(run_bird) && file_exists("/run/bird")) e.run_bird_src = run_bird.c_str();
  return exec_with(e, argv, netns.name());
}

std::vector<pid_t> processes_in_netns(const std::vector<NsId>& namespaces) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  pid_t self = ::getpid();
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    struct stat st{};
    if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &st) != 0) continue;
    NsId id{static_cast<unsigned long>(st.st_dev), static_cast<unsigned long>(st.st_ino)};
    for (const NsId& n : namespaces)
      if (n == id) {
        out.push_back(static_cast<pid_t>(pid));
        break;
      }
  }
  ::closedir(d);
  return out;
}

std::size_t terminate_processes(const std::vector<pid_t>& pids, int grace_ms) {
  // pidfds make the signal race-free (no pid reuse between lookup and kill) and let us wait
  // for processes that are not our children.
  std::vector<Fd> fds;
  for (pid_t p : pids) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, p, 0));
    if (fd < 0) continue;
    if (::syscall(SYS_pidfd_send_signal, fd, SIGTERM, nullptr, 0) == 0) fds.emplace_back(fd);
    else ::close(fd);
  }
  auto wait_all = [&](int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      std::vector<pollfd> live;
      for (auto& f : fds) {
        pollfd p{f.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) == 0) live.push_back(p);
      }
      if (live.empty()) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      ::poll(live.data(), live.size(), static_cast<int>(left));
    }
  };
  if (!wait_all(grace_ms)) {
    for (auto& f : fds) ::syscall(SYS_pidfd_send_signal, f.get(), SIGKILL, nullptr, 0);
    wait_all(2000);
  }
  // Reap those that are our own children (spawned by this same process).
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return fds.size();
}

}  // namespace knlab
