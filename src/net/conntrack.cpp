#include "net/conntrack.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include <cerrno>
#include <memory>

namespace knlab {

namespace {

struct NfctClose {
  void operator()(nfct_handle* h) const {
    if (h) nfct_close(h);
  }
};
using NfctPtr = std::unique_ptr<nfct_handle, NfctClose>;

// The kernel's names (nf_conntrack_proto_tcp.c), as `conntrack -L` prints them.
std::string tcp_state_name(std::uint8_t state) {
  static constexpr const char* kNames[] = {"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
                                           "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
  return state < std::size(kNames) ? kNames[state] : "";
}

std::uint16_t port_of(const nf_conntrack* ct, nf_conntrack_attr attr) {
  return nfct_attr_is_set(ct, attr) > 0 ? ntohs(nfct_get_attr_u16(ct, attr)) : 0;
}

Ipv4 ip_of(const nf_conntrack* ct, nf_conntrack_attr attr) {
  return Ipv4{nfct_attr_is_set(ct, attr) > 0 ? ntohl(nfct_get_attr_u32(ct, attr)) : 0};
}

CtTuple tuple_of(const nf_conntrack* ct, bool reply) {
  CtTuple t;
  t.src = ip_of(ct, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC);
  t.dst = ip_of(ct, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST);
  t.proto = nfct_get_attr_u8(ct, reply ? ATTR_REPL_L4PROTO : ATTR_ORIG_L4PROTO);
  if (t.proto == IPPROTO_ICMP) {
    // The echo id; libnetfilter-conntrack keeps one for both directions.
    t.sport = port_of(ct, ATTR_ICMP_ID);
  } else {
    t.sport = port_of(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC);
    t.dport = port_of(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST);
  }
  return t;
}

CtEntry entry_of(const nf_conntrack* ct) {
  CtEntry e;
  e.orig = tuple_of(ct, false);
  e.reply = tuple_of(ct, true);
  if (e.orig.proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0)
    e.tcp_state = tcp_state_name(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
  e.mark = nfct_get_attr_u32(ct, ATTR_MARK);
  e.timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
  e.id = nfct_get_attr_u32(ct, ATTR_ID);
  e.assured = (nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_ASSURED) != 0;
  return e;
}

int collect(nf_conntrack_msg_type, nf_conntrack* ct, void* data) {
  static_cast<std::vector<CtEntry>*>(data)->push_back(entry_of(ct));
  return NFCT_CB_CONTINUE;
}

}  // namespace

Result<std::vector<CtEntry>> conntrack_list(const NetnsRef& ns) {
  NfctPtr handle;
  {
    // A netlink socket belongs to the namespace it is created in.
    auto inside = KN_TRY(ScopedNetns::enter(ns));
    handle.reset(nfct_open(CONNTRACK, 0));
    if (!handle) return fail(sys_error("open conntrack netlink socket", "", errno, ns.name()));
  }
  std::vector<CtEntry> out;
  if (nfct_callback_register(handle.get(), NFCT_T_ALL, collect, &out) < 0)
    return fail(sys_error("register conntrack callback", "", errno, ns.name()));
  std::uint32_t family = AF_INET;
  if (nfct_query(handle.get(), NFCT_Q_DUMP, &family) < 0)
    return fail(sys_error("list conntrack entries", "", errno, ns.name()));
  return out;
}

}  // namespace knlab
