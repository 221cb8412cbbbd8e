// kn-lab completion bash|zsh: a shell completion script generated from the parser's own
// definitions (subcommands, their options, their positionals), so it cannot drift from them.
// kn-lab __complete WHAT: the dynamic values the script asks for while the user types (lab
// files, labs that are up, a lab's pods and nodes, names of a kind); never an error, never root.
// kn-lab __man: the man page (roff), from the same definitions; the build runs it.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "cli/cli.hpp"
#include "lab/kinds.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

// What a positional completes to, from its name (and `up`'s lab, which is a file, not a lab
// that is up). An option whose description lists its values as "A | B | C" completes to them.
std::string positional_source(std::string_view cmd, std::string_view positional) {
  if (positional == "lab") return cmd == "up" ? "labfiles" : "running";
  if (positional == "target" || positional == "pod") return "targets";
  if (positional == "name") return cmd == "create" || cmd == "run" ? "" : "names";  // new names: none
  if (positional == "ref") return "refs";  // deploy/<name>, pod/<name>
  if (positional == "args") return "objects";  // get: a kind, then names of that kind
  return "";
}

std::vector<std::string> listed_values(const std::string& description) {
  std::vector<std::string> out;
  if (description.find(" | ") == std::string::npos) return out;
  std::size_t start = 0;
  for (;;) {
    std::size_t bar = description.find(" | ", start);
    std::string word = description.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (word.empty() || word.find(' ') != std::string::npos) return {};
    out.push_back(word);
    if (bar == std::string::npos) return out;
    start = bar + 3;
  }
}

bool visible(const CLI::App* sub) { return !sub->get_group().empty(); }

std::vector<CLI::App*> commands(CLI::App& app) {
  return app.get_subcommands([](CLI::App* s) { return visible(s); });
}

std::vector<std::string> option_names(const CLI::Option* o) {
  std::vector<std::string> out;
  for (auto& s : o->get_snames()) out.push_back("-" + s);
  for (auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

// The bash arms for one command: its options, which take a value, what each positional
// completes to, and the values of options (and positionals) that list them.
struct CommandSpec {
  std::string spec, choices;
};

CommandSpec bash_spec(CLI::App* sub) {
  std::vector<std::string> opts{"--help"}, valued, positionals;
  CommandSpec out;
  for (const CLI::Option* o : sub->get_options()) {
    auto values = listed_values(o->get_description());
    if (o->get_positional()) {
      positionals.push_back(values.empty() ? positional_source(sub->get_name(), o->get_name()) : "-");
      if (!values.empty())
        out.choices += fmt::format("    '{} #{}') echo '{}' ;;\n", sub->get_name(), positionals.size() - 1, fmt::join(values, " "));
      if (positionals.back().empty()) positionals.back() = "-";
      // A list (get TYPE NAME...): the same completion for the next words too.
      for (int i = 1; i < 8 && o->get_items_expected_max() > 1; ++i) positionals.push_back(positionals.back());
      continue;
    }
    if (o->get_name() == "--help") continue;
    auto names = option_names(o);
    opts.insert(opts.end(), names.begin(), names.end());
    if (o->get_expected_max() == 0) continue;
    valued.insert(valued.end(), names.begin(), names.end());
    for (auto& n : names)
      if (!values.empty()) out.choices += fmt::format("    '{} {}') echo '{}' ;;\n", sub->get_name(), n, fmt::join(values, " "));
  }
  std::vector<std::string> names{sub->get_name()};
  for (auto& alias : sub->get_aliases()) names.push_back(alias);
  out.spec = fmt::format("    {}) opts='{}'; valued=' {} '; positionals=({}) ;;\n", fmt::join(names, "|"),
                         fmt::join(opts, " "), fmt::join(valued, " "), fmt::join(positionals, " "));
  return out;
}

// The part of the script that does not depend on the commands. `_kn_lab_spec CMD` and
// `_kn_lab_choices 'CMD OPTION'|'CMD #N'` are generated before it.
constexpr std::string_view kBashBody = R"(
_kn_lab_values() {
  # $1: labfiles | running | targets | names [KIND] | refs; with the lab and namespace typed so far
  "${COMP_WORDS[0]}" __complete "$@" ${lab:+--lab "$lab"} ${ns:+-n "$ns"} 2>/dev/null
}

_kn_lab() {
  # Plain COMP_WORDS (no bash-completion helpers needed), so that zsh runs it too.
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cword=$COMP_CWORD
  local cmd='' lab='' ns='' i w opts='' valued='' values=''
  local -a positionals=() args=()
  for ((i = 1; i < cword; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -- ]] && return 0  # the command to run in a pod or node: not kn-lab's words
    case $w in
      --lab) lab=${COMP_WORDS[i+1]} ;;
      -n|--namespace) ns=${COMP_WORDS[i+1]} ;;
    esac
    if [[ $w == -* ]]; then
      [[ $valued == *" $w "* ]] && ((i++))
    elif [[ -z $cmd ]]; then
      cmd=$w; _kn_lab_spec "$cmd"
    else
      args+=("$w")
    fi
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$_kn_lab_commands -v --verbose --help --version" -- "$cur"))
    return 0
  fi
  if [[ $valued == *" $prev "* ]]; then
    values=$(_kn_lab_choices "$cmd $prev")
    case $prev in
      --lab) values=$(_kn_lab_values running) ;;
      -f|--filename|--cert|--key) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  local n=${#args[@]}
  case ${positionals[n]:--} in
    -) values=$(_kn_lab_choices "$cmd #$n") ;;
    labfiles) values=$(_kn_lab_values labfiles)
              COMPREPLY=($(compgen -f -X '!*.toml' -- "$cur") $(compgen -d -- "$cur")) ;;
    names) if ((n > 0)); then values=$(_kn_lab_values names "${args[0]}"); else values=$(_kn_lab_values names); fi ;;
    objects) if ((n > 0)); then values=$(_kn_lab_values names "${args[0]}"); else values=$(_kn_lab_values kinds); fi ;;
    *) values=$(_kn_lab_values "${positionals[n]}") ;;
  esac
  COMPREPLY+=($(compgen -W "$values" -- "$cur"))
  return 0
}
complete -o filenames -F _kn_lab kn-lab
)";

std::string bash_script(CLI::App& app) {
  std::vector<std::string> names;
  std::string specs, choices;
  for (CLI::App* sub : commands(app)) {
    names.push_back(sub->get_name());
    for (auto& alias : sub->get_aliases()) names.push_back(alias);
    CommandSpec s = bash_spec(sub);
    specs += s.spec;
    choices += s.choices;
  }
  return fmt::format(
      "# bash completion for kn-lab, generated by `kn-lab completion bash` from its parser.\n"
      "# The Debian package installs it; by hand: kn-lab completion bash > /etc/bash_completion.d/kn-lab\n"
      "_kn_lab_commands='{}'\n\n"
      "_kn_lab_spec() {{\n  case $1 in\n{}  esac\n}}\n\n"
      "_kn_lab_choices() {{\n  case $1 in\n{}  esac\n}}\n{}",
      fmt::join(names, " "), specs, choices, kBashBody);
}

std::string zsh_script(CLI::App& app) {
  // zsh runs the bash function through its bash completion layer, with bash's 0-based arrays.
  return "#compdef kn-lab\n# zsh completion for kn-lab, generated by `kn-lab completion zsh`\n"
         "autoload -U +X bashcompinit && bashcompinit\n" + bash_script(app) +
         "_kn_lab_zsh() { setopt localoptions ksharrays; _kn_lab \"$@\"; }\n"
         "complete -o filenames -F _kn_lab_zsh kn-lab\n";
}

// --- dynamic values ----------------------------------------------------------------------------

std::string lab_or_only(const std::string& lab) {
  if (!lab.empty()) return check_lab_name(lab) ? lab : "";
  auto only = default_lab("complete");
  return only ? *only : "";
}

std::vector<std::string> values_of(const std::string& what, const std::string& arg, const std::string& lab_arg) {
  std::set<std::string> out;
  if (what == "labfiles") {
    std::error_code ec;
    for (auto& dir : lab_search_dirs())
      for (auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".toml") out.insert(e.path().stem().string());
  } else if (what == "kinds") {
    for (auto k : kind_names()) out.insert(std::string(k));
  } else if (what == "running") {
    for (auto& l : list_labs()) out.insert(l);
  } else if (std::string lab = lab_or_only(lab_arg); lab.empty()) {
    return {};
  } else if (what == "targets") {
    // The lab's namespaces are its pods, nodes and infrastructure: no root needed to list them.
    for (const std::string& ns : netns_list(netns_prefix(lab)))
      if (auto parsed = parse_netns_name(ns)) out.insert(parsed->second);
  } else if (what == "names") {
    auto v = view_lab(lab);  // the record is root's: without it, no names
    if (!v) return {};
    const LabPlan& p = v->plan;
    bool any = arg.empty();
    const KindInfo* k = find_kind(arg);
    auto is = [&](std::initializer_list<Kind> ids) { return any || (k && std::find(ids.begin(), ids.end(), k->id) != ids.end()); };
    if (is({Kind::kPod})) for (auto& x : p.pods) out.insert(x.name);
    if (is({Kind::kNode})) for (auto& x : p.nodes) out.insert(x.name);
    if (is({Kind::kDeployment})) for (auto& x : p.deployments) out.insert(x.name);
    if (is({Kind::kService, Kind::kEndpoints})) for (auto& x : p.services) out.insert(x.spec.name);
  } else if (what == "refs") {
    auto v = view_lab(lab);
    if (!v) return {};
    for (auto& x : v->plan.deployments) out.insert("deploy/" + x.name);
    for (auto& x : v->plan.pods) out.insert("pod/" + x.name);
  }
  return {out.begin(), out.end()};
}

// --- man page ----------------------------------------------------------------------------------

std::string roff(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man_page(CLI::App& app) {
  std::string out = fmt::format(".TH KN\\-LAB 1 \"\" \"kn-lab {}\" \"User Commands\"\n", KNLAB_VERSION);
  out += ".SH NAME\nkn\\-lab \\- a Kubernetes networking lab made of real kernel objects\n";
  out += ".SH SYNOPSIS\n.B sudo kn\\-lab\n[\\fB\\-v\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n";
  out += ".SH DESCRIPTION\n" + roff(app.get_description()) + ".\n";
  out += "Each lab is a set of network namespaces (nodes, pods, the underlay), bridges, veths, VXLAN "
         "tunnels or routes, kube\\-proxy's iptables rules and real daemons (BIRD, nginx, dnsmasq), "
         "built from a TOML lab file and Kubernetes YAML. Nothing in the host's own network "
         "namespace is changed.\n";
  out += ".SH COMMANDS\n";
  for (CLI::App* sub : commands(app)) {
    std::string usage;
    for (const CLI::Option* o : sub->get_options())
      if (o->get_positional()) usage += fmt::format(" \\fI{}\\fR", roff(o->get_name()));
    out += fmt::format(".SS \"kn\\-lab {}{}\"\n{}.\n", roff(sub->get_name()), usage, roff(sub->get_description()));
    for (const CLI::Option* o : sub->get_options()) {
      if (o->get_name() == "--help") continue;
      std::string name = o->get_positional() ? "\\fI" + roff(o->get_name()) + "\\fR"
                                             : "\\fB" + roff(fmt::format("{}", fmt::join(option_names(o), ", "))) + "\\fR";
      if (!o->get_positional() && o->get_expected_max() != 0) name += " \\fIVALUE\\fR";
      out += fmt::format(".TP\n{}\n{}\n", name, roff(o->get_description()));
    }
  }
  out += ".SH GLOBAL OPTIONS\n.TP\n\\fB\\-v, \\-\\-verbose\\fR\nShow every kernel operation as the "
         "ip/bridge/sysctl command that does the same.\n";
  out += ".SH FILES\n.TP\n/usr/share/kn\\-lab/labs\nThe labs that come with kn\\-lab (\\fBkn\\-lab labs\\fR).\n"
         ".TP\n/run/kn\\-lab/\\fILAB\\fR\nThe record of a lab that is up.\n"
         ".TP\n/var/lib/kn\\-lab/\\fILAB\\fR\nIts desired state, kept across a reboot.\n";
  out += ".SH EXAMPLES\n.nf\nsudo kn\\-lab up 02\\-pod\\-to\\-pod\\-same\\-node\nsudo kn\\-lab get pods \\-o wide\n"
         "sudo kn\\-lab exec web \\-\\- ping \\-c 3 10.244.0.3\nsudo kn\\-lab down\n.fi\n";
  out += ".SH SEE ALSO\n\\fBip\\fR(8), \\fBbridge\\fR(8), \\fBiptables\\fR(8), \\fBtcpdump\\fR(8)\n";
  return out;
}

}  // namespace

void register_completion(CLI::App& app, const GlobalOptions&, Action& action) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script: bash | zsh");
  cmd->add_option("shell", *shell, "bash | zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([shell, &app, &action] {
    action = [shell, &app]() -> Result<int> {
      fmt::print("{}", *shell == "zsh" ? zsh_script(app) : bash_script(app));
      return 0;
    };
  });

  struct Query {
    std::string what, arg, lab, ns;
  };
  auto q = std::make_shared<Query>();
  CLI::App* values = app.add_subcommand("__complete", "")->group("");
  values->add_option("what", q->what)->required();
  values->add_option("arg", q->arg);
  values->add_option("--lab", q->lab);
  values->add_option("-n,--namespace", q->ns);
  values->callback([q, &action] {
    action = [q]() -> Result<int> {
      for (auto& v : values_of(q->what, q->arg, q->lab)) fmt::print("{}\n", v);
      return 0;
    };
  });

  CLI::App* man = app.add_subcommand("__man", "")->group("");
  man->callback([&app, &action] {
    action = [&app]() -> Result<int> {
      fmt::print("{}", man_page(app));
      return 0;
    };
  });
}

}  // namespace knlab
