#include "net/ipset.hpp"

#include <fmt/core.h>
#include <libipset/ipset.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "core/text.hpp"
#include "net/fd.hpp"

namespace knlab {

namespace {

// One libipset session in the calling thread's namespace (its netlink socket is made there), with
// its output and errors captured instead of printed.
class Session {
 public:
  static Result<std::unique_ptr<Session>> open(const std::string& netns) {
    static std::once_flag types;
    std::call_once(types, [] { ipset_load_types(); });
    auto s = std::unique_ptr<Session>(new Session(netns));
    s->h_ = ipset_init();
    if (!s->h_) return fail(sys_error("open ipset session", "libipset", ENOMEM, netns));
    ipset_custom_printf(s->h_, &Session::custom_error, &Session::standard_error, &Session::print, s.get());
    return s;
  }
  ~Session() {
    if (h_) ipset_fini(h_);
  }

  // One command in `ipset restore` syntax ("add KUBE-SRC-X 10.244.1.2"); its output is returned.
  Result<std::string> run(const std::string& line) {
    out_.clear();
    err_.clear();
    std::string buf = line;
    if (ipset_parse_line(h_, buf.data()) != 0 || !err_.empty()) {
      Error e = state_error("ipset", fmt::format("ipset {}: {}", line, err_.empty() ? "failed" : trim_newline(err_)));
      e.netns = netns_;
      return fail(std::move(e));
    }
    return out_;
  }

 private:
  explicit Session(std::string netns) : netns_(std::move(netns)) {}

  static std::string trim_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  // libipset's printf-style callbacks, marked as such (clang's -Wformat-nonliteral then checks
  // their callers instead of refusing the forwarded format).
  [[gnu::format(printf, 2, 0)]] static void append(std::string& to, const char* fmt, va_list ap) {
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0) return;
    if (static_cast<std::size_t>(n) < sizeof small) {
      to.append(small, static_cast<std::size_t>(n));
      return;
    }
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(big.data(), big.size(), fmt, ap);
    to.append(big.data(), static_cast<std::size_t>(n));
  }
  [[gnu::format(printf, 4, 5)]] static int custom_error(struct ipset*, void* p, int status, const char* msg, ...) {
    auto* self = static_cast<Session*>(p);
    va_list ap;
    va_start(ap, msg);
    append(self->err_, msg, ap);
    va_end(ap);
    return status;
  }
  static int standard_error(struct ipset* h, void* p) {
    auto* self = static_cast<Session*>(p);
    struct ipset_session* session = ipset_session(h);
    bool is_error = ipset_session_report_type(session) == IPSET_ERROR;
    if (const char* m = ipset_session_report_msg(session); m && is_error) self->err_ += m;
    ipset_session_report_reset(session);
    return is_error ? -1 : 0;
  }
  [[gnu::format(printf, 3, 4)]] static int print(struct ipset_session*, void* p, const char* fmt, ...) {
    auto* self = static_cast<Session*>(p);
    va_list ap;
    va_start(ap, fmt);
    append(self->out_, fmt, ap);
    va_end(ap);
    return 0;
  }

  std::string netns_;
  struct ipset* h_ = nullptr;
  std::string out_, err_;
};

// `ipset save` output: kn-lab's sets, their types and members.
std::map<std::string, IpSet> parse_save(const std::string& text) {
  std::map<std::string, IpSet> sets;
  for (std::string_view line : split(text, '\n')) {
    auto words = split(line, ' ');
    if (words.size() >= 3 && words[0] == "create" && owned_ipset(std::string(words[1])))
      sets[std::string(words[1])] = IpSet{std::string(words[1]), std::string(words[2]), {}};
    if (words.size() >= 3 && words[0] == "add" && sets.contains(std::string(words[1]))) {
      std::string entry(words[2]);
      if (words.size() >= 4 && words[3] == "nomatch") entry += " nomatch";
      sets[std::string(words[1])].entries.push_back(std::move(entry));
    }
  }
  for (auto& [name, s] : sets) std::sort(s.entries.begin(), s.entries.end());
  return sets;
}

Result<std::map<std::string, IpSet>> read_sets(Session& s) { return parse_save(KN_TRY(s.run("save"))); }

// The member changes of one set: removals first (an entry that turns into "nomatch" goes, then
// comes back as one).
Result<std::size_t> sync_members(Session& s, const IpSet& want, const std::vector<std::string>& have) {
  std::size_t changes = 0;
  std::vector<std::string> gone, added;
  std::set_difference(have.begin(), have.end(), want.entries.begin(), want.entries.end(), std::back_inserter(gone));
  std::set_difference(want.entries.begin(), want.entries.end(), have.begin(), have.end(), std::back_inserter(added));
  for (const std::string& e : gone) {
    KN_TRY(s.run(fmt::format("del {} {} -exist", want.name, e.substr(0, e.find(' ')))));
    ++changes;
  }
  for (const std::string& e : added) {
    KN_TRY(s.run(fmt::format("add {} {} -exist", want.name, e)));
    ++changes;
  }
  return changes;
}

}  // namespace

Result<std::size_t> ipset_apply(const NetnsRef& ns, const std::vector<IpSet>& sets, bool prune) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  auto session = KN_TRY(Session::open(ns.name()));
  std::map<std::string, IpSet> have = KN_TRY(read_sets(*session));
  std::size_t changes = 0;
  for (const IpSet& want : sets) {
    auto it = have.find(want.name);
    if (it != have.end() && it->second.type != want.type) {
      KN_TRY(session->run("destroy " + want.name));  // refused while a rule names it: the error says so
      have.erase(it);
      it = have.end();
    }
    if (it == have.end()) {
      KN_TRY(session->run(fmt::format("create {} {} family inet hashsize 1024 maxelem 65536", want.name, want.type)));
      ++changes;
    }
    changes += KN_TRY(sync_members(*session, want, it == have.end() ? std::vector<std::string>{} : it->second.entries));
  }
  if (prune)
    for (auto& [name, s] : have)
      if (std::none_of(sets.begin(), sets.end(), [&](const IpSet& w) { return w.name == name; })) {
        KN_TRY(session->run("destroy " + name));
        ++changes;
      }
  return changes;
}

Result<std::vector<IpSet>> ipset_read(const NetnsRef& ns) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  auto session = KN_TRY(Session::open(ns.name()));
  std::vector<IpSet> out;
  for (auto& [name, s] : KN_TRY(read_sets(*session))) out.push_back(std::move(s));
  return out;
}

namespace {

// A raw socket for ipset's getsockopt interface (SO_IP_SET) in the calling thread's namespace,
// with the kernel's protocol version (which every other request names).
struct SetSockopt {
  Fd sock;
  unsigned version = 0;
};

std::optional<SetSockopt> set_sockopt() {
  Fd sock(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!sock) return std::nullopt;
  ip_set_req_version version{};
  version.op = IP_SET_OP_VERSION;
  socklen_t size = sizeof version;
  if (::getsockopt(sock.get(), SOL_IP, SO_IP_SET, &version, &size) != 0) return std::nullopt;
  return SetSockopt{std::move(sock), version.version};
}

}  // namespace

std::optional<std::uint16_t> ipset_index(const std::string& name) {
  if (name.size() >= IPSET_MAXNAMELEN) return std::nullopt;
  auto s = set_sockopt();
  if (!s) return std::nullopt;
  ip_set_req_get_set req{};
  req.op = IP_SET_OP_GET_BYNAME;
  req.version = s->version;
  std::memcpy(req.set.name, name.c_str(), name.size() + 1);
  socklen_t size = sizeof req;
  if (::getsockopt(s->sock.get(), SOL_IP, SO_IP_SET, &req, &size) != 0 || req.set.index == IPSET_INVALID_ID) return std::nullopt;
  return static_cast<std::uint16_t>(req.set.index);
}

std::optional<std::string> ipset_name(std::uint16_t index) {
  if (index == IPSET_INVALID_ID) return std::nullopt;
  auto s = set_sockopt();
  if (!s) return std::nullopt;
  ip_set_req_get_set req{};
  req.op = IP_SET_OP_GET_BYINDEX;
  req.version = s->version;
  req.set.index = index;
  socklen_t size = sizeof req;
  // The kernel answers an unused index with an empty name, one beyond its table with EINVAL.
  if (::getsockopt(s->sock.get(), SOL_IP, SO_IP_SET, &req, &size) != 0) return std::nullopt;
  std::string name(req.set.name, ::strnlen(req.set.name, sizeof req.set.name));
  if (name.empty()) return std::nullopt;
  return name;
}

}  // namespace knlab
