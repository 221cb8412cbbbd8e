// The ops of a live change's switch-over, as -v and --dry-run show them; batches of nodes' nftables transactions.
#include <doctest/doctest.h>

#include <csignal>

#include "net/executor.hpp"
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

TEST_CASE("nodes' nftables transactions go to the executor as one batch, each shown, a failure stopping the transaction") {
  std::vector<Op> ops = {NetnsAdd{"kn-x.node1"}, NftApply{"kn-x.node1", "add table ip kube-proxy\n"},
                         NftApply{"kn-x.node2", "add table ip kube-proxy\n"}, NftApply{"kn-x.node3", "add table ip kube-proxy\n"},
                         LinkUp{"kn-x.node1", "lo"}};
  struct Batching final : Executor {
    RecordingExecutor rec;
    std::vector<std::size_t> batches;
    Result<Outcome> run(const Op& op) override { return rec.run(op); }
    Status undo(const Op& op, const Outcome& o) override { return rec.undo(op, o); }
    std::vector<Result<Outcome>> run_batch(const std::vector<const Op*>& batch) override {
      batches.push_back(batch.size());
      return Executor::run_batch(batch);
    }
  } ex;
  std::vector<std::string> shown;
  {
    Transaction txn(ex, [&](const Op& op) { shown.push_back(op_display(op)); });
    REQUIRE(txn.run_all(ops));
    txn.commit();
  }
  CHECK(ex.batches == std::vector<std::size_t>{3});
  CHECK(shown.size() == 5);
  CHECK(ex.rec.commands.size() == 5);
  CHECK(shown[2].starts_with("ip netns exec kn-x.node2 nft -f - <<'EOF'"));
  // The second transaction of the batch fails: the rest is not run, the namespace is undone.
  Batching failing;
  failing.rec.fail_at = 3;
  {
    Transaction txn(failing);
    auto st = txn.run_all(ops);
    REQUIRE_FALSE(st);
    CHECK(st.error().format().find("injected failure") != std::string::npos);
  }
  CHECK(failing.rec.commands.size() == 2);
  CHECK(failing.rec.undone == std::vector<std::string>{"ip netns add kn-x.node1"});
}
