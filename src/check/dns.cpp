// DNS checks: a name asked as the pod asks it, with glibc's resolver (libresolv) configured from
// the pod's own /etc/netns/<netns>/resolv.conf (nameserver, search list, ndots) and its socket
// made inside the pod's network namespace.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <fmt/core.h>

#include <fstream>
#include <sstream>

#include "check/attempt.hpp"
#include "core/text.hpp"
#include "net/netns.hpp"

namespace knlab::check {

namespace {

struct ResolvConf {
  std::vector<Ipv4> nameservers;
  std::vector<std::string> search;
  int ndots = 1;
};

Result<ResolvConf> read_resolv_conf(const std::string& netns) {
  std::string path = "/etc/netns/" + netns + "/resolv.conf";
  std::ifstream in(path);
  if (!in) return fail(sys_error("read", path, errno).with_hint("DNS checks run from pods of a lab with dns = true"));
  ResolvConf rc;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "nameserver") {
      std::string a;
      words >> a;
      if (auto ip = Ipv4::parse(a)) rc.nameservers.push_back(*ip);
    } else if (key == "search") {
      rc.search.clear();
      for (std::string d; words >> d;) rc.search.push_back(d);
    } else if (key == "options") {
      for (std::string o; words >> o;)
        if (o.starts_with("ndots:")) rc.ndots = std::atoi(o.c_str() + 6);
    }
  }
  if (rc.nameservers.empty()) return fail(state_error("read", path + " has no nameserver"));
  return rc;
}

// The names tried, in order, as glibc's res_nsearch tries them.
std::vector<std::string> candidates(const std::string& name, const ResolvConf& rc) {
  if (name.ends_with('.')) return {name};
  std::vector<std::string> out;
  auto dots = static_cast<int>(std::count(name.begin(), name.end(), '.'));
  if (dots >= rc.ndots) out.push_back(name);
  for (const std::string& d : rc.search) out.push_back(name + "." + d);
  if (dots < rc.ndots) out.push_back(name);
  return out;
}

// The A records of one fully qualified name, asked of the first nameserver.
Result<std::vector<std::string>> query_a(const std::string& fqdn, Ipv4 server, int timeout_ms) {
  struct __res_state st {};
  if (res_ninit(&st) != 0) return fail(state_error("res_ninit", "the resolver could not start"));
  st.nscount = 1;
  st.nsaddr_list[0].sin_family = AF_INET;
  st.nsaddr_list[0].sin_port = htons(53);
  st.nsaddr_list[0].sin_addr.s_addr = htonl(server.value);
  st.retrans = std::max(1, timeout_ms / 1000);
  st.retry = 1;
  unsigned char answer[4096];
  int n = res_nquery(&st, fqdn.c_str(), ns_c_in, ns_t_a, answer, sizeof answer);
  res_nclose(&st);
  std::vector<std::string> out;
  ns_msg msg;
  if (n < 0 || ns_initparse(answer, n, &msg) != 0) return out;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_a || ns_rr_rdlen(rr) != 4) continue;
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof text);
    out.emplace_back(text);
  }
  return out;
}

Result<Attempt> dns(const LabView& view, const CheckSpec& c) {
  std::string netns = KN_TRY(netns_of(view, c.from, c.ns));
  ResolvConf rc = KN_TRY(read_resolv_conf(netns));
  NetnsRef ref = KN_TRY(NetnsRef::open(netns));
  auto inside = KN_TRY(ScopedNetns::enter(ref));
  for (const std::string& fqdn : candidates(c.resolves, rc)) {
    std::vector<std::string> found = KN_TRY(query_a(fqdn, rc.nameservers.front(), c.timeout_ms));
    if (found.empty()) continue;
    std::string said = fmt::format("{} -> {} -> {}", c.resolves, fqdn, join(found));
    if (!c.address.empty() && std::find(found.begin(), found.end(), c.address) == found.end())
      return Attempt{false, said + fmt::format(", not {}", c.address)};
    return Attempt{true, said};
  }
  return Attempt{false, fmt::format("{} does not resolve from {} (tried {} at {})", c.resolves, c.from, join(candidates(c.resolves, rc)),
                                    rc.nameservers.front().str())};
}

}  // namespace

Attempt dns_attempt(const LabView& view, const CheckSpec& c) {
  auto a = dns(view, c);
  if (!a) return {false, a.error().format()};
  return *a;
}

}  // namespace knlab::check
