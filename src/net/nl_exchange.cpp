#include "net/nl_exchange.hpp"

#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>

namespace knlab {

namespace {

using NlCbPtr = std::unique_ptr<nl_cb, NlDeleter<nl_cb_put>>;

struct Exchange {
  const NlReplyFn* on_reply = nullptr;
  bool done = false;
  int error = 0;  // positive errno of the kernel's error answer
};

int on_valid(nl_msg* msg, void* arg) {
  (*static_cast<Exchange*>(arg)->on_reply)(*nlmsg_hdr(msg));
  return NL_OK;
}

// NLMSG_DONE of a dump, or the ack of a request: the exchange is over.
int on_end(nl_msg*, void* arg) {
  static_cast<Exchange*>(arg)->done = true;
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* x = static_cast<Exchange*>(arg);
  x->error = -err->error;
  x->done = true;
  return NL_STOP;
}

}  // namespace

Result<int> nl_exchange(NsContext& ctx, NlMsgPtr msg, const NlReplyFn& on_reply, const std::string& op) {
  NlCbPtr cb(nl_cb_alloc(NL_CB_DEFAULT));
  if (!cb) return fail(sys_error(op, "netlink callbacks", ENOMEM, ctx.ns.name()));
  Exchange x{&on_reply};
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
  nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_end, &x);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_end, &x);
  nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &x);
  if (int err = nl_send_auto(ctx.sock.get(), msg.get()); err < 0)
    return fail(nl_error(op, "send", err, ctx.ns.name()));
  // A reply and its ack arrive in separate reads: read until the kernel has said its last word,
  // so that nothing of this exchange is left on the socket for the next request.
  while (!x.done) {
    int err = nl_recvmsgs(ctx.sock.get(), cb.get());
    if (err == -NLE_DUMP_INTR)
      return fail(nl_error(op, "dump interrupted by a concurrent change, try again", err, ctx.ns.name()));
    if (err < 0 && !x.done) return fail(nl_error(op, "receive", err, ctx.ns.name()));
  }
  return x.error;
}

}  // namespace knlab
