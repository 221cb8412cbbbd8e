// kn-lab edit TYPE NAME | TYPE/NAME [-n ns]: kubectl edit. The object as `get -o yaml` prints it
// goes into a private temporary file, $KUBE_EDITOR or $EDITOR (else vi) edits it, and what was
// saved goes into the lab as a patch would (cli/patch.hpp). The editor's command line is split at
// spaces and run with execvp, never through a shell. An edit that does not parse leaves the file
// where it is, named in the error, so that no work is lost.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/patch.hpp"
#include "core/text.hpp"
#include "views/printers.hpp"

namespace knlab {

namespace {

struct EditOptions {
  std::vector<std::string> args;
  std::string ns = "default";
  std::string lab;
};

std::vector<std::string> editor_argv() {
  for (const char* var : {"KUBE_EDITOR", "EDITOR", "VISUAL"})
    if (const char* e = std::getenv(var); e && *e) {
      std::vector<std::string> argv;
      for (std::string_view part : split(e, ' '))
        if (!part.empty()) argv.emplace_back(part);
      if (!argv.empty()) return argv;
    }
  return {"vi"};
}

Status run_editor(const std::string& path) {
  std::vector<std::string> argv = editor_argv();
  argv.push_back(path);
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) return fail(sys_error("fork", "the editor", errno));
  if (child == 0) {
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(state_error("edit", fmt::format("the editor ({}) did not finish well (exit {})", argv.front(), WIFEXITED(status) ? WEXITSTATUS(status) : -1),
                            "set KUBE_EDITOR or EDITOR to the editor to use"));
  return {};
}

// The object through the editor: the saved text, parsed.
Result<kube::Json> edit_in_editor(const kube::Json& before) {
  char path[] = "/tmp/kn-lab-edit-XXXXXX.yaml";
  int fd = ::mkstemps(path, 5);
  if (fd < 0) return fail(sys_error("create a temporary file", "/tmp", errno));
  std::string text = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
                     "# and an empty file will abort the edit.\n#\n" + views::to_yaml(before);
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) return fail(sys_error("write", path, errno));
  KN_TRY(run_editor(path));
  std::ifstream in(path);
  std::stringstream saved;
  saved << in.rdbuf();
  auto after = kube::parse_yaml_json(saved.str(), path);
  if (after && after->is_null()) {  // emptied: kubectl's way to cancel
    ::unlink(path);
    return before;
  }
  if (!after || !after->is_object()) {
    Error e = after ? input_error(SourceLocation{path, 0, 0}, "the edited text is not an object") : after.error();
    return fail(std::move(e.with_hint(fmt::format("your edit is kept in {}", path))));
  }
  ::unlink(path);
  return *after;
}

Result<int> run_edit(const EditOptions& o, const GlobalOptions& g) {
  ObjectTarget t = KN_TRY(object_target(o.args, o.ns, "edit"));
  return change_object(o.lab, t, edit_in_editor, "edit", g);
}

}  // namespace

void register_edit(CLI::App& app, const GlobalOptions& g, Action& action) {
  auto o = std::make_shared<EditOptions>();
  CLI::App* cmd = app.add_subcommand("edit", "Edit an object in $KUBE_EDITOR or $EDITOR and apply what was saved (kubectl edit)");
  cmd->add_option("object", o->args, "TYPE NAME, or TYPE/NAME")->required()->expected(1, 2);
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &g, &action] { action = [o, &g] { return run_edit(*o, g); }; });
}

}  // namespace knlab
