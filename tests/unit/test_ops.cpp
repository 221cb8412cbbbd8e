// The ops of a live change's switch-over, as -v and --dry-run show them.
#include <doctest/doctest.h>

#include <csignal>

#include "ops/op.hpp"

using namespace knlab;

TEST_CASE("switch-over ops render as the commands that do the same") {
  CHECK(op_display(NetnsRemove{{"kn-demo.web", "kn-demo.api"}}) ==
        "ip netns pids kn-demo.web | xargs -r kill; ip -n kn-demo.web link del eth0; ip netns del kn-demo.web; "
        "rm -rf /etc/netns/kn-demo.web\n"
        "ip netns pids kn-demo.api | xargs -r kill; ip -n kn-demo.api link del eth0; ip netns del kn-demo.api; "
        "rm -rf /etc/netns/kn-demo.api");
  CHECK(op_display(NginxReload{"kn-demo.ctl", "/run/kn-lab/demo/nginx/x", 4242, 99}) ==
        "ip netns exec kn-demo.ctl nginx -s reload -p /run/kn-lab/demo/nginx/x/"
        "   # SIGHUP to the master (pid 4242), then until a worker runs the new configuration");
  CHECK(op_display(ProcessSignal{77, 5, SIGHUP, "dnsmasq of kube-dns: read the hosts file again"}) ==
        "kill -HUP 77   # dnsmasq of kube-dns: read the hosts file again");
  CHECK(op_display(FileReplace{"/etc/netns/kn-demo.web/resolv.conf", "nameserver 10.96.0.10", true}) ==
        "cp /dev/stdin /etc/netns/kn-demo.web/resolv.conf <<'EOF'\nnameserver 10.96.0.10\nEOF");
  CHECK(op_display(FileReplace{"/run/kn-lab/demo/nginx/x/nginx.conf", "events {}\n", false}) ==
        "install -m 0644 /dev/stdin /run/kn-lab/demo/nginx/x/nginx.conf <<'EOF'\nevents {}\nEOF");
  CHECK(op_display(PathRemove{"/run/kn-lab/demo/nginx/x"}) == "rm -rf /run/kn-lab/demo/nginx/x");
  CHECK(op_display(AddrDel{"kn-demo.cloud-lb", "eth0", Cidr{Ipv4{0xc0a838c8u}, 32}}) ==
        "ip -n kn-demo.cloud-lb addr del 192.168.56.200/32 dev eth0");
}
