#include "lab/writer.hpp"

#include <sstream>
#include <toml++/toml.h>

namespace knlab {

namespace {

toml::table string_table(const std::map<std::string, std::string>& m) {
  toml::table t;
  for (auto& [k, v] : m) t.insert(k, v);
  return t;
}

toml::array port_array(const std::vector<ContainerPort>& ports) {
  toml::array out;
  for (const ContainerPort& p : ports) {
    toml::table t{{"port", static_cast<std::int64_t>(p.port)}, {"protocol", p.protocol}};
    if (!p.name.empty()) t.insert("name", p.name);
    out.push_back(std::move(t));
  }
  return out;
}

toml::array string_array(const std::vector<std::string>& v) {
  toml::array a;
  for (auto& s : v) a.push_back(s);
  return a;
}

}  // namespace

std::string write_lab(const Lab& lab) {
  toml::table root;
  root.insert("lab", toml::table{{"name", lab.name}, {"description", lab.description}});
  const ClusterSpec& c = lab.cluster;
  toml::table cluster{{"pod_cidr", c.pod_cidr.str()},
                      {"node_cidr_mask", static_cast<std::int64_t>(c.node_mask)},
                      {"service_cidr", c.service_cidr.str()},
                      {"cni", std::string(to_string(c.cni))},
                      {"mtu", static_cast<std::int64_t>(c.mtu)}};
  if (lab.racks.empty()) cluster.insert("node_network", c.node_network.str());
  if (c.dns) cluster.insert("dns", *c.dns);
  if (c.proxy_mode != ProxyMode::kIptables) cluster.insert("proxy_mode", std::string(to_string(c.proxy_mode)));
  root.insert("cluster", std::move(cluster));
  if (!lab.racks.empty()) {
    toml::array racks;
    for (auto& r : lab.racks) racks.push_back(toml::table{{"name", r.name}, {"network", r.network.str()}});
    root.insert("rack", std::move(racks));
  }
  toml::array nodes;
  for (auto& n : lab.nodes) {
    toml::table t{{"name", n.name}};
    if (!n.rack.empty()) t.insert("rack", n.rack);
    if (!n.labels.empty()) t.insert("labels", string_table(n.labels));
    nodes.push_back(std::move(t));
  }
  root.insert("node", std::move(nodes));
  if (!lab.pods.empty()) {
    toml::array pods;
    for (auto& p : lab.pods) {
      toml::table t{{"name", p.name}, {"namespace", p.ns}, {"node", p.node}};
      if (!p.labels.empty()) t.insert("labels", string_table(p.labels));
      if (!p.image.empty()) t.insert("image", p.image);
      if (!p.args.empty()) t.insert("args", string_array(p.args));
      if (!p.ports.empty()) t.insert("ports", port_array(p.ports));
      if (!p.env.empty()) {
        toml::table env;
        for (auto& [k, v] : p.env) env.insert(k, v);
        t.insert("env", std::move(env));
      }
      if (p.privileged) t.insert("privileged", true);
      if (!p.containers.empty()) {
        toml::array cs;
        for (auto& c2 : p.containers) {
          toml::table ct{{"name", c2.name}, {"command", string_array(c2.command)}};
          if (!c2.env.empty()) {
            toml::table env;
            for (auto& [k, v] : c2.env) env.insert(k, v);
            ct.insert("env", std::move(env));
          }
          cs.push_back(std::move(ct));
        }
        t.insert("container", std::move(cs));
      }
      pods.push_back(std::move(t));
    }
    root.insert("pod", std::move(pods));
  }
  if (lab.ingress_nginx)
    root.insert("ingress_nginx", toml::table{{"type", std::string(to_string(lab.ingress_nginx->type))},
                                             {"http_node_port", static_cast<std::int64_t>(lab.ingress_nginx->http_node_port)},
                                             {"https_node_port", static_cast<std::int64_t>(lab.ingress_nginx->https_node_port)}});
  if (lab.gateway_controllers.size() > 1) {
    toml::array names;
    for (auto it = lab.gateway_controllers.begin() + 1; it != lab.gateway_controllers.end(); ++it) names.push_back(*it);
    root.insert("gateway_controller", toml::table{{"controller_names", std::move(names)}});
  }
  if (!lab.deployments.empty()) {
    toml::array ds;
    for (auto& d : lab.deployments) {
      toml::table t{{"name", d.name}, {"namespace", d.ns}, {"replicas", static_cast<std::int64_t>(d.replicas)},
                    {"image", d.image}, {"labels", string_table(d.labels)}};
      if (d.port) t.insert("port", static_cast<std::int64_t>(*d.port));
      if (!d.ports.empty()) t.insert("ports", port_array(d.ports));
      ds.push_back(std::move(t));
    }
    root.insert("deployment", std::move(ds));
  }
  if (!lab.services.empty()) {
    toml::array ss;
    for (auto& s : lab.services) {
      toml::table t{{"name", s.name},
                    {"namespace", s.ns},
                    {"type", std::string(to_string(s.type))},
                    {"selector", string_table(s.selector)},
                    {"session_affinity", s.session_affinity ? "ClientIP" : "None"}};
      if (!s.labels.empty()) t.insert("labels", string_table(s.labels));
      toml::array ports;
      for (const ServicePortSpec& p : s.ports) {
        toml::table pt{{"port", static_cast<std::int64_t>(p.port)},
                       {"target_port", static_cast<std::int64_t>(p.target_port ? p.target_port : p.port)},
                       {"protocol", p.protocol}};
        if (!p.name.empty()) pt.insert("name", p.name);
        if (p.node_port) pt.insert("node_port", static_cast<std::int64_t>(*p.node_port));
        ports.push_back(std::move(pt));
      }
      t.insert("ports", std::move(ports));
      if (s.type != ServiceType::kClusterIP)
        t.insert("external_traffic_policy", s.local_traffic_policy ? "Local" : "Cluster");
      if (s.cluster_ip) t.insert("cluster_ip", s.cluster_ip->str());
      ss.push_back(std::move(t));
    }
    root.insert("service", std::move(ss));
  }
  if (!lab.service_patches.empty()) {
    toml::array ps;
    for (const ServicePatch& sp : lab.service_patches) {
      toml::table t{{"name", sp.name}, {"namespace", sp.ns}};
      if (sp.type) t.insert("type", std::string(to_string(*sp.type)));
      if (sp.local_traffic_policy) t.insert("external_traffic_policy", *sp.local_traffic_policy ? "Local" : "Cluster");
      if (sp.session_affinity) t.insert("session_affinity", *sp.session_affinity ? "ClientIP" : "None");
      ps.push_back(std::move(t));
    }
    root.insert("service_patch", std::move(ps));
  }
  std::ostringstream out;
  out << "# The desired state of lab " << lab.name << " (written by kn-lab after live changes).\n" << root << "\n";
  return out.str();
}

}  // namespace knlab
