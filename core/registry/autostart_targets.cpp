// SPDX-License-Identifier: Apache-2.0
#include "core/registry/autostart_targets.h"

#include "core/registry/hive_extract.h"
#include "core/util/text.h"

namespace trawl::core::hive {

namespace {

// "x:\..." (the path is lower case already).
bool IsAbsolute(std::string_view p) {
  return p.size() >= 3 && p[0] >= 'a' && p[0] <= 'z' && p[1] == ':' && p[2] == '\\';
}

bool HasDotComponent(std::string_view p) {
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('\\', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view c = p.substr(start, end - start);
    if (c == "." || c == "..") return true;
    start = end + 1;
  }
  return false;
}

std::string BaseName(std::string_view p) {
  const std::size_t slash = p.find_last_of('\\');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

// Per-user variables in `path` (lower case) with the user's folders.
std::string ExpandUser(std::string path, std::string_view home_lc) {
  if (home_lc.empty()) return path;
  const std::pair<std::string_view, std::string> vars[] = {
      {"%userprofile%", std::string(home_lc)},
      {"%appdata%", std::string(home_lc) + "\\appdata\\roaming"},
      {"%localappdata%", std::string(home_lc) + "\\appdata\\local"},
      {"%temp%", std::string(home_lc) + "\\appdata\\local\\temp"},
      {"%tmp%", std::string(home_lc) + "\\appdata\\local\\temp"},
  };
  for (const auto& [var, value] : vars) {
    if (path.starts_with(var)) return value + path.substr(var.size());
  }
  return path;
}

AutostartTarget Resolve(std::string file, std::string role, std::string_view home_lc, std::string_view root_lc) {
  AutostartTarget t;
  t.role = std::move(role);
  file = ExpandUser(std::move(file), home_lc);
  if (root_lc != "c:\\windows" && file.starts_with("c:\\windows") && (file.size() == 10 || file[10] == '\\')) {
    file = std::string(root_lc) + file.substr(10);
  }
  while (!file.empty() && (file.back() == ' ' || file.back() == '\t')) file.pop_back();
  if (file.empty()) {
    t.unresolved = "empty command";
    return t;
  }
  if (file.find('%') != std::string::npos) {
    t.unresolved = "a variable with no value here: " + file;
    return t;
  }
  if (file.starts_with("\\\\")) {
    t.unresolved = "a network path: " + file;
    return t;
  }
  if (IsAbsolute(file)) {
    if (HasDotComponent(file)) {
      t.unresolved = "'.' or '..' in the path: " + file;
      return t;
    }
    t.candidates.push_back(std::move(file));
    return t;
  }
  if (file.find_first_of("\\/:") != std::string::npos) {
    t.unresolved = "a relative path: " + file;
    return t;
  }
  // A bare name: the loader's own search starts with System32, then the
  // Windows folder; ".exe" is implied when there is no extension.
  if (file.find('.') == std::string::npos) file += ".exe";
  t.candidates.push_back(std::string(root_lc) + "\\system32\\" + file);
  t.candidates.push_back(std::string(root_lc) + "\\" + file);
  return t;
}

// The text after the program in a command line (the program as it was
// written, quoted or not).
std::string_view AfterProgram(std::string_view command) {
  std::size_t i = command.find_first_not_of(" \t");
  if (i == std::string_view::npos) return {};
  if (command[i] == '"') {
    const std::size_t close = command.find('"', i + 1);
    return close == std::string_view::npos ? std::string_view() : command.substr(close + 1);
  }
  const std::size_t space = command.find_first_of(" \t", i);
  return space == std::string_view::npos ? std::string_view() : command.substr(space);
}

// rundll32 "<dll>",Entry args / regsvr32 [/s] [/u] [/i:x] <dll>: the DLL.
std::string LoaderDll(std::string_view args, bool rundll) {
  std::size_t i = 0;
  while (i < args.size()) {
    i = args.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) return {};
    std::string token;
    if (args[i] == '"') {
      const std::size_t close = args.find('"', i + 1);
      token = std::string(args.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1));
      i = close == std::string_view::npos ? args.size() : close + 1;
    } else {
      const std::size_t end = args.find_first_of(rundll ? " \t," : " \t", i);
      token = std::string(args.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? args.size() : end;
    }
    if (!rundll && (token.starts_with('/') || token.starts_with('-'))) continue;  // regsvr32 switches
    if (rundll) {
      const std::size_t comma = token.find(',');
      if (comma != std::string::npos) token.resize(comma);
    }
    return token;
  }
  return {};
}

}  // namespace

std::vector<AutostartTarget> CommandTargets(std::string_view command, std::string_view arguments,
                                            std::string_view user_home, std::string_view system_root) {
  std::vector<AutostartTarget> out;
  const std::string home_lc = ToLowerAscii(user_home);
  std::string root_lc = ToLowerAscii(system_root.empty() ? std::string_view("C:\\Windows") : system_root);
  while (root_lc.size() > 3 && root_lc.back() == '\\') root_lc.pop_back();
  const std::string program = CommandFileLc(command);
  if (program.empty()) return out;
  out.push_back(Resolve(program, "program", home_lc, root_lc));
  const std::string base = BaseName(program);
  const bool rundll = base == "rundll32" || base == "rundll32.exe";
  const bool regsvr = base == "regsvr32" || base == "regsvr32.exe";
  if (!rundll && !regsvr) return out;
  const std::string args = arguments.empty() ? std::string(AfterProgram(command)) : std::string(arguments);
  const std::string dll = LoaderDll(args, rundll);
  if (dll.empty()) return out;
  // The DLL path goes through the same prefix rules as a program ("\??\",
  // %SystemRoot%, ...); quoting was already removed.
  std::string dll_lc = CommandFileLc("\"" + dll + "\"");
  if (!dll_lc.empty() && dll_lc.find('.') == std::string::npos) dll_lc += ".dll";
  out.push_back(Resolve(std::move(dll_lc), "dll argument", home_lc, root_lc));
  return out;
}

}  // namespace trawl::core::hive
