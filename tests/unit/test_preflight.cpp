#include <doctest/doctest.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>

#include "runtime/preflight.hpp"

using namespace knlab;
namespace fs = std::filesystem;

namespace {

// A fake machine root with the module list of a kernel that has `modules` loadable.
fs::path fake_root(const std::string& name, const std::string& modules_dep) {
  utsname u{};
  REQUIRE(::uname(&u) == 0);
  fs::path root = fs::temp_directory_path() / ("knlab-preflight-" + name);
  fs::remove_all(root);
  fs::create_directories(root / "lib/modules" / u.release);
  std::ofstream(root / "lib/modules" / u.release / "modules.dep") << modules_dep;
  return root;
}

const std::vector<Op> kVxlanLab = {BridgeAdd{"kn-x.node1", "cni0", 1500}, VxlanAdd{"kn-x.node1", "flannel.1", 1, Ipv4{0}, "eth0", 8472, 1450, ""}};

}  // namespace

TEST_CASE("preflight: a kernel without the vxlan module is refused before anything, naming it") {
  fs::path root = fake_root("novxlan", "kernel/net/bridge/bridge.ko:\n");
  auto st = check_kernel_features(kVxlanLab, root.string());
  REQUIRE(!st);
  CHECK(st.error().kind == ErrorKind::kMissing);
  CHECK(st.error().object == "kernel module vxlan");
  CHECK(st.error().hint.find("modprobe vxlan") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("preflight: loadable (modules.dep), loaded (/sys/module) or unknown (no lists) passes") {
  fs::path root = fake_root("loadable", "kernel/net/bridge/bridge.ko:\nkernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko\n");
  CHECK(check_kernel_features(kVxlanLab, root.string()));
  fs::remove_all(root);
  fs::path loaded = fake_root("loaded", "kernel/net/bridge/bridge.ko:\n");
  fs::create_directories(loaded / "sys/module/vxlan");
  CHECK(check_kernel_features(kVxlanLab, loaded.string()));
  fs::remove_all(loaded);
  fs::path bare = fs::temp_directory_path() / "knlab-preflight-bare";
  fs::create_directories(bare);
  CHECK(check_kernel_features(kVxlanLab, bare.string()));  // nothing to go by
  fs::remove_all(bare);
}

TEST_CASE("preflight: Services need br_netfilter and the legacy iptables tables") {
  fs::path root = fake_root("noipt", "kernel/net/bridge/bridge.ko:\n");
  std::vector<Op> ops = {BridgeAdd{"kn-x.node1", "cni0", 1500}, IptablesApply{"kn-x.node1", IptTable{"nat", {}, {}}}};
  auto st = check_kernel_features(ops, root.string());
  REQUIRE(!st);
  CHECK(st.error().object == "kernel module br_netfilter");
  fs::create_directories(root / "proc/sys/net/bridge");  // loaded: /proc/sys/net/bridge appears
  st = check_kernel_features(ops, root.string());
  REQUIRE(!st);
  CHECK(st.error().object == "kernel module ip_tables");
  fs::remove_all(root);
}

TEST_CASE("preflight: a data plane that loads nginx's stream module needs libnginx-mod-stream") {
  std::vector<Op> ops = {FileWrite{"/run/kn-lab/x/nginx/default.gw-nginx/nginx.conf",
                                   "load_module /nonexistent/ngx_stream_module.so;\nevents {}\n"}};
  auto st = check_kernel_features(ops, fs::temp_directory_path().string());
  REQUIRE(!st);
  CHECK(st.error().hint.find("libnginx-mod-stream") != std::string::npos);
}
