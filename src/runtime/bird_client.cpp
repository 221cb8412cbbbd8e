#include "runtime/bird_client.hpp"

#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "net/fd.hpp"

namespace knlab {

Result<std::vector<std::string>> bird_command(const std::string& ctl, const std::string& command) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (ctl.size() >= sizeof addr.sun_path) return fail(sys_error("connect to BIRD", ctl, ENAMETOOLONG));
  std::memcpy(addr.sun_path, ctl.c_str(), ctl.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(sys_error("connect to BIRD", ctl, errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(sys_error("connect to BIRD", ctl, errno));
  // The protocol: lines "CCCC text" (last line of a reply) or "CCCC-text" (more follow), and
  // " text" continuations; a reply ends with a line whose code is followed by a space. The
  // greeting (0001) is one such reply, the command's answer the next.
  std::string buf;
  std::vector<std::string> lines;
  int replies = 0;
  bool sent = false;
  while (replies < 2) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return fail(sys_error("read from BIRD", ctl, ETIMEDOUT));
    char chunk[4096];
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n <= 0) return fail(sys_error("read from BIRD", ctl, n == 0 ? ECONNRESET : errno));
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      bool coded = line.size() >= 5 && std::isdigit(static_cast<unsigned char>(line[0]));
      if (replies == 1) lines.push_back(coded ? line.substr(5) : line.substr(line.empty() ? 0 : 1));
      if (coded && line[4] == ' ') ++replies;
    }
    if (replies == 1 && !sent) {
      std::string cmd = command + "\n";
      if (::write(fd.get(), cmd.data(), cmd.size()) != static_cast<ssize_t>(cmd.size()))
        return fail(sys_error("write to BIRD", ctl, errno));
      sent = true;
    }
  }
  return lines;
}

std::vector<BirdProtocol> parse_bird_protocols(const std::vector<std::string>& lines) {
  std::vector<BirdProtocol> out;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    BirdProtocol p;
    std::string table, since_date, since_time;
    if (!(in >> p.name >> p.proto >> table >> p.state)) continue;
    if (p.name == "Name") continue;  // the header
    in >> since_date;
    // "Since" is one or two words depending on BIRD's time format; Info is the rest.
    std::string rest;
    std::getline(in, rest);
    std::istringstream r(rest);
    std::string word;
    std::vector<std::string> words;
    while (r >> word) words.push_back(word);
    if (!words.empty() && words.front().find(':') != std::string::npos) words.erase(words.begin());
    for (auto& w : words) p.info += (p.info.empty() ? "" : " ") + w;
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<BirdProtocol>> bird_protocols(const std::string& ctl) {
  return parse_bird_protocols(KN_TRY(bird_command(ctl, "show protocols")));
}

}  // namespace knlab
