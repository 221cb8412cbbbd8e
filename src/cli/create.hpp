// kn-lab create: what its kinds share (cli/create.cpp) and the builders of the objects kubectl
// creates from flags (cli/create_objects.cpp): each is a Kubernetes object that goes into the lab
// as `apply -f` of it would, after a check that none of its kind and name exists.
#pragma once

#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "views/jsonpath.hpp"

namespace knlab {

struct CreateOptions {
  std::string kind;
  std::string name;
  std::string extra;  // secret tls NAME / service TYPE NAME: the name
  std::string cert, key;
  std::string image;
  int replicas = 1;
  int port = 0;
  std::vector<std::string> tcp;    // service: --tcp=PORT[:TARGET]
  int node_port = 0;               // service nodeport: --node-port
  std::string ingress_class;       // ingress: --class
  std::vector<std::string> rules;  // ingress: --rule=HOST/PATH=SERVICE:PORT[,tls[=SECRET]]
  std::string ns = "default";
  std::string lab;
};

// The object into the running lab, refused if one of its kind and name exists; prints
// "<kind>/<name> created".
Result<int> create_object(const views::Json& object, const CreateOptions& o, const GlobalOptions& g);

// kubectl create service clusterip|nodeport|loadbalancer NAME --tcp=80:8080 [--node-port=N]:
// selector and labels app=NAME.
Result<views::Json> service_object(const CreateOptions& o);
// kubectl create ingress NAME [--class=C] --rule="HOST/PATH=SERVICE:PORT[,tls[=SECRET]]"...: a
// path ending in * is a Prefix, else Exact; an empty host any host.
Result<views::Json> ingress_object(const CreateOptions& o);

}  // namespace knlab
