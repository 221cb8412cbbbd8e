#include "runtime/state.hpp"

#include "runtime/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "lab/loader.hpp"
#include "lab/manifest.hpp"
#include "lab/names.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"

namespace knlab {

namespace {

Status write_private(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return fail(sys_error("write state", tmp, errno));
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return fail(sys_error("write state", tmp, errno));
  fd.reset();
  // rename: a reader (or a crash) sees the old record or the new one, never half of one.
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(sys_error("write state", path, errno));
  return {};
}

Status make_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(sys_error("create directory", dir, errno));
  return {};
}

// The subdirectories of `dir` (not hidden), sorted; none when it does not exist.
std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (!n.starts_with('.') && e->d_type == DT_DIR) out.emplace_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}


}  // namespace

const ProcessRecord* LabState::find(std::string_view pod, std::string_view container) const {
  auto it = std::find_if(processes.begin(), processes.end(),
                         [&](const ProcessRecord& p) { return p.pod == pod && p.container == container; });
  return it == processes.end() ? nullptr : &*it;
}

Status save_state(const LabState& state, const std::string& lab_text, const std::string& l7_text) {
  std::string dir = state_dir(state.lab);
  KN_TRY(make_private_dir(std::string(kStateRoot)));
  KN_TRY(make_private_dir(dir));
  KN_TRY(make_private_dir(dir + "/logs"));
  if (!lab_text.empty()) {
    KN_TRY(write_private(dir + "/lab.toml", lab_text));
    if (!l7_text.empty()) KN_TRY(write_private(dir + "/l7.yaml", l7_text));
    else ::unlink((dir + "/l7.yaml").c_str());
  }
  toml::table t{{"lab", state.lab},
                {"source", state.source},
                {"status", to_string(state.status)},
                {"cni_override", state.cni_override},
                {"proxy_mode_override", state.proxy_mode_override},
                {"created", static_cast<std::int64_t>(state.created)}};
  toml::array procs;
  for (auto& p : state.processes)
    procs.push_back(toml::table{{"pod", p.pod},
                                {"container", p.container},
                                {"pid", static_cast<std::int64_t>(p.id.pid)},
                                {"start", static_cast<std::int64_t>(p.id.start)}});
  t.insert("process", std::move(procs));
  toml::array ips, lasts, gens, created;
  for (auto& [ns, ip] : state.memory.pod_ips) ips.push_back(toml::table{{"netns", ns}, {"ip", ip.str()}});
  for (auto& [node, host] : state.memory.last_host)
    lasts.push_back(toml::table{{"node", node}, {"host", static_cast<std::int64_t>(host)}});
  for (auto& [key, gen] : state.memory.generations) gens.push_back(toml::table{{"replica", key}, {"generation", gen}});
  t.insert("pod_ip", std::move(ips));
  t.insert("last_host", std::move(lasts));
  t.insert("generation", std::move(gens));
  for (auto& [key, when] : state.memory.created) created.push_back(toml::table{{"object", key}, {"created", when}});
  t.insert("object_created", std::move(created));
  std::ostringstream out;
  out << "# kn-lab state: written by kn-lab, read by kn-lab. Do not edit.\n" << t << "\n";
  KN_TRY(write_private(dir + "/state.toml", out.str()));
  if (state.status != LabStatus::kUp) return {};
  // The desired state outside /run, so that a reboot does not lose it (`kn-lab up <lab>`
  // restores it). A copy of the three files: the record stays the one under /run.
  std::string saved = saved_dir(state.lab);
  KN_TRY(make_private_dir(std::string(kSavedRoot)));
  KN_TRY(make_private_dir(saved));
  for (const char* name : {"lab.toml", "l7.yaml", "state.toml"}) {
    std::string text = read_text(dir + "/" + name);
    if (!text.empty()) KN_TRY(write_private(saved + "/" + name, text));
    else ::unlink((saved + "/" + name).c_str());
  }
  return {};
}

namespace {

Result<LabState> load_state_in(const std::string& dir, const std::string& lab) {
  std::string path = dir + "/state.toml";
  std::string text = read_text(path);
  if (text.empty())
    return fail(state_error("read lab state", fmt::format("lab '{}' is not up (no {})", lab, path),
                            "start it with `kn-lab up <lab>`; `kn-lab status` lists the labs that are up"));
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed) return fail(state_error("read lab state", fmt::format("{} is damaged: {}", path, parsed.error().description()),
                                       "`kn-lab down " + lab + "` still cleans up"));
  const toml::table& t = parsed.table();
  LabState s;
  s.lab = t["lab"].value_or(std::string(lab));
  s.source = t["source"].value_or(std::string());
  std::string status = t["status"].value_or(std::string("unknown"));
  s.status = status == "up" ? LabStatus::kUp : status == "creating" ? LabStatus::kCreating : LabStatus::kUnknown;
  s.cni_override = t["cni_override"].value_or(std::string());
  s.proxy_mode_override = t["proxy_mode_override"].value_or(std::string());
  s.created = static_cast<std::time_t>(t["created"].value_or(std::int64_t{0}));
  if (const toml::array* procs = t["process"].as_array()) {
    for (const toml::node& n : *procs) {
      const toml::table* p = n.as_table();
      if (!p) continue;
      ProcessRecord r;
      r.pod = (*p)["pod"].value_or(std::string());
      r.container = (*p)["container"].value_or(std::string());
      r.id.pid = static_cast<pid_t>((*p)["pid"].value_or(std::int64_t{0}));
      r.id.start = static_cast<unsigned long long>((*p)["start"].value_or(std::int64_t{0}));
      s.processes.push_back(std::move(r));
    }
  }
  auto each = [&](const char* key, auto&& f) {
    if (const toml::array* arr = t[key].as_array())
      for (const toml::node& n : *arr)
        if (const toml::table* e = n.as_table()) f(*e);
  };
  each("pod_ip", [&](const toml::table& e) {
    if (auto ip = Ipv4::parse(e["ip"].value_or(std::string()))) s.memory.pod_ips[e["netns"].value_or(std::string())] = *ip;
  });
  each("last_host", [&](const toml::table& e) {
    s.memory.last_host[e["node"].value_or(std::string())] = static_cast<std::uint32_t>(e["host"].value_or(std::int64_t{1}));
  });
  each("generation", [&](const toml::table& e) {
    s.memory.generations[e["replica"].value_or(std::string())] = static_cast<int>(e["generation"].value_or(std::int64_t{0}));
  });
  each("object_created", [&](const toml::table& e) {
    s.memory.created[e["object"].value_or(std::string())] = e["created"].value_or(std::int64_t{0});
  });
  return s;
}

Result<Lab> load_lab_in(const std::string& dir, const std::string& lab, const LabOverrides& overrides) {
  std::string path = dir + "/lab.toml";
  std::string text = read_text(path);
  if (text.empty()) return fail(state_error("read lab state", fmt::format("lab '{}' is not up", lab)));
  Lab parsed = KN_TRY(parse_lab(text, path, overrides));
  // The Ingress / Gateway API objects applied to it, read back with the manifest loader.
  std::string l7_path = dir + "/l7.yaml";
  if (std::string l7 = read_text(l7_path); !l7.empty()) parsed.l7 = KN_TRY(parse_manifests(l7, l7_path)).l7;
  return parsed;
}

}  // namespace

LabOverrides recorded_overrides(const LabState& state) {
  LabOverrides overrides;
  if (!state.cni_override.empty()) overrides.cni = parse_cni_mode(state.cni_override);
  if (!state.proxy_mode_override.empty()) overrides.proxy_mode = parse_proxy_mode(state.proxy_mode_override);
  return overrides;
}

Result<LabState> load_state(const std::string& lab) {
  KN_TRY(check_lab_name(lab));
  return load_state_in(state_dir(lab), lab);
}

Result<std::string> recorded_text(const std::string& lab, const std::string& file) {
  KN_TRY(check_lab_name(lab));
  return read_text(state_dir(lab) + "/" + file);
}

Result<Lab> load_recorded_lab(const std::string& lab) {
  LabOverrides overrides;
  if (auto state = load_state(lab)) overrides = recorded_overrides(*state);
  return load_lab_in(state_dir(lab), lab, overrides);
}

Result<SavedLab> load_saved_lab(const std::string& lab) {
  KN_TRY(check_lab_name(lab));
  SavedLab saved;
  saved.state = KN_TRY(load_state_in(saved_dir(lab), lab));
  saved.state.processes.clear();  // of a previous boot
  saved.lab = KN_TRY(load_lab_in(saved_dir(lab), lab, recorded_overrides(saved.state)));
  saved.lab_text = read_text(saved_dir(lab) + "/lab.toml");
  return saved;
}

std::vector<std::string> list_saved_labs() {
  std::vector<std::string> out = subdirectories(std::string(kSavedRoot));
  std::erase_if(out, [](const std::string& n) { return ::access((saved_dir(n) + "/lab.toml").c_str(), F_OK) != 0; });
  return out;
}

std::size_t forget_saved_lab(const std::string& lab) {
  std::error_code ec;
  auto n = static_cast<std::size_t>(std::filesystem::remove_all(saved_dir(lab), ec));
  ::rmdir(std::string(kSavedRoot).c_str());  // only when empty: the last lab's
  return n;
}

std::vector<std::string> list_labs() {
  std::vector<std::string> dirs = subdirectories(std::string(kStateRoot));
  std::set<std::string> labs(dirs.begin(), dirs.end());
  for (const std::string& ns : netns_list("kn-"))
    if (auto parsed = parse_netns_name(ns)) labs.insert(parsed->first);
  return {labs.begin(), labs.end()};
}

std::string_view to_string(LabStatus s) {
  switch (s) {
    case LabStatus::kCreating: return "creating";
    case LabStatus::kUp: return "up";
    case LabStatus::kUnknown: break;
  }
  return "unknown";
}

Status check_lab_name(const std::string& lab) {
  if (auto problem = check_label(lab, kMaxLabNameLength))
    return fail(input_error(SourceLocation{}, fmt::format("\"{}\" is not a lab name: it {}", lab, *problem),
                            "lab names are lowercase letters, digits and '-', at most 32 characters; `kn-lab status` lists the labs that are up"));
  return {};
}

Result<LabLock> LabLock::acquire(const std::string& lab) {
  KN_TRY(check_lab_name(lab));
  KN_TRY(make_private_dir(std::string(kStateRoot)));
  std::string path = fmt::format("{}/{}.lock", kStateRoot, lab);
  for (;;) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return fail(sys_error("open lock", path, errno));
    if (::flock(fd.get(), LOCK_EX) != 0) return fail(sys_error("lock", path, errno));
    // The holder before us may have removed the file (`down`): then our lock is on a dead inode
    // and a third process could lock a new file. Retry until the locked file is the live one.
    struct stat held{}, live{};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &live) == 0 && held.st_ino == live.st_ino)
      return LabLock(path, std::move(fd));
  }
}

void LabLock::remove_file() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

LabLock::~LabLock() = default;  // closing the fd releases the flock

}  // namespace knlab
