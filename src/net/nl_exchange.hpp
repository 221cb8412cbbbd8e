// One request/reply exchange on a namespace's rtnetlink socket, for the requests libnl has no
// object API for (the AF_BRIDGE neighbour dump, RTM_GETROUTE with its flags, RTM_GETNSID):
// the caller builds the message, every reply message goes to a callback, and the kernel's
// error answer comes back as a value. Internal to src/net (inspect.cpp, inspect_route.cpp).
#pragma once

#include <linux/netlink.h>
#include <netlink/msg.h>

#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "net/netlink.hpp"

namespace knlab {

using NlMsgPtr = std::unique_ptr<nl_msg, NlDeleter<nlmsg_free>>;
using NlReplyFn = std::function<void(nlmsghdr&)>;

// Sends `msg` (libnl completes it: sequence number, NLM_F_REQUEST, NLM_F_ACK) and passes each
// reply to `on_reply` until the kernel ends the exchange: NLMSG_DONE (a dump), the ack, or an
// error message. Returns the errno the kernel answered (0: success). Err only when the
// exchange itself failed (send, receive, an interrupted dump).
Result<int> nl_exchange(NsContext& ctx, NlMsgPtr msg, const NlReplyFn& on_reply, const std::string& op);

}  // namespace knlab
