// featx: the command-line tool.
//
//   featx nodes MODEL.pt [--mode=eval|train] [--leaf_modules=A,B]
//                        [--autowrap_functions=f,g] [--format=text|json]
//   featx graph MODEL.pt [--mode=eval|train] [--leaf_modules=...] [--autowrap_functions=...]
//
// Errors are one line on stderr: exit code 1 for bad input (a missing or
// unreadable model, a model featx cannot trace), 2 for bad usage.

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "featx.h"
#include "graph/text.h"
#include "naming/naming.h"

namespace featx {
namespace {

constexpr char kUsage[] =
    R"(usage: featx <command> MODEL.pt [flags]

commands:
  nodes   list the node names torchvision's get_graph_node_names would give
  graph   print the traced graph in featx's text form, with node names

flags:
  --mode=eval|train          which mode's graph (default eval)
  --leaf_modules=A,B         modules to keep whole: class names or module paths
  --autowrap_functions=f,g   TorchScript functions to keep as one node
  --format=text|json         nodes: one name per line (text, for --mode) or
                             {"train": [...], "eval": [...]} (json)
)";

struct UsageError {
  std::string message;
};

struct CommandLine {
  std::string command;
  std::string model;
  std::map<std::string, std::string> flags;
};

// Parses `argv` into a command, one positional model path and --key=value flags,
// accepting only `allowed` flag names.
bool ParseCommandLine(int argc, char** argv, CommandLine* cl, std::string* error) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::StartsWith(arg, "--")) {
      std::pair<std::string, std::string> kv = absl::StrSplit(arg.substr(2), absl::MaxSplits('=', 1));
      if (!absl::StrContains(arg, '=')) {
        *error = absl::StrCat("flag ", arg, " needs a value (--name=value)");
        return false;
      }
      cl->flags[kv.first] = kv.second;
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.empty()) {
    *error = "missing command";
    return false;
  }
  cl->command = positional[0];
  if (positional.size() != 2) {
    *error = positional.size() < 2 ? "missing MODEL.pt" : absl::StrCat("unexpected argument '", positional[2], "'");
    return false;
  }
  cl->model = positional[1];
  return true;
}

std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& s : items) quoted.push_back(JsonString(s));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

// Exit codes.
constexpr int kOk = 0;
constexpr int kBadInput = 1;
constexpr int kBadUsage = 2;

int Fail(int code, absl::string_view message) {
  std::string line(message);
  line = line.substr(0, line.find('\n'));
  std::cerr << "featx: " << line << "\n";
  return code;
}

int Run(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "help")) {
    std::cout << kUsage;
    return kOk;
  }
  CommandLine cl;
  std::string error;
  if (!ParseCommandLine(argc, argv, &cl, &error)) {
    return Fail(kBadUsage, absl::StrCat(error, " (see featx --help)"));
  }
  if (cl.command != "nodes" && cl.command != "graph") {
    return Fail(kBadUsage, absl::StrCat("unknown command '", cl.command, "' (see featx --help)"));
  }
  for (const auto& [key, value] : cl.flags) {
    bool known = key == "mode" || key == "leaf_modules" || key == "autowrap_functions" ||
                 (key == "format" && cl.command == "nodes");
    if (!known) {
      return Fail(kBadUsage, absl::StrCat("unknown flag --", key, " for '", cl.command, "'"));
    }
  }
  std::string mode_name = cl.flags.count("mode") ? cl.flags["mode"] : "eval";
  if (mode_name != "eval" && mode_name != "train") {
    return Fail(kBadUsage, absl::StrCat("--mode must be eval or train, not '", mode_name, "'"));
  }
  Mode mode = mode_name == "train" ? Mode::kTrain : Mode::kEval;
  std::string format = cl.flags.count("format") ? cl.flags["format"] : "text";
  if (format != "text" && format != "json") {
    return Fail(kBadUsage, absl::StrCat("--format must be text or json, not '", format, "'"));
  }
  TraceOptions options;
  options.leaf_modules = SplitList(cl.flags["leaf_modules"]);
  options.autowrap_functions = SplitList(cl.flags["autowrap_functions"]);

  absl::StatusOr<torch::jit::Module> model = LoadModel(cl.model);
  if (!model.ok()) return Fail(kBadInput, model.status().message());

  if (cl.command == "graph") {
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, mode, options);
    if (!graph.ok()) return Fail(kBadInput, graph.status().message());
    NameNodes(**graph);
    std::cout << PrintGraph(**graph);
    return kOk;
  }
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*model, options);
  if (!names.ok()) return Fail(kBadInput, names.status().message());
  if (format == "json") {
    std::cout << "{\"train\": " << JsonList(names->train) << ", \"eval\": " << JsonList(names->eval)
              << "}\n";
  } else {
    for (const std::string& name : names->ForMode(mode)) std::cout << name << "\n";
  }
  return kOk;
}

}  // namespace
}  // namespace featx

int main(int argc, char** argv) {
  try {
    return featx::Run(argc, argv);
  } catch (const std::exception& e) {
    // LibTorch may throw from places featx does not wrap; never show a backtrace.
    return featx::Fail(featx::kBadInput, e.what());
  }
}
