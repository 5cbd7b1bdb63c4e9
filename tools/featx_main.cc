// featx: the command-line tool, on the public API (featx.h) only.
//
//   featx <command> MODEL.pt [--flag=value ...]
//
// Each command is one entry of kCommands: its name, a one-line summary, the
// flags it takes and a handler. Flags are Abseil flags (ABSL_FLAG below),
// each parsed and checked by its type; a command accepts only its own flags.
// `featx --help` and `featx COMMAND --help` are generated from the same
// tables and the flags' help strings.
//
// Errors are one line on stderr: exit code 1 for bad input (a missing or
// unreadable model, a model featx cannot trace, a file that cannot be
// written), 2 for bad usage (an unknown command or flag, a bad flag value, a
// missing required flag). Usage is checked before the model is read.

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ATen/Parallel.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "featx.h"
#include "nlohmann/json.hpp"
#include "torch/csrc/api/include/torch/serialize.h"
#include "torch/script.h"

// A tensor shape flag value: "1,3,224,224", every size positive.
struct ShapeFlag {
  std::vector<int64_t> dims;
};

bool AbslParseFlag(absl::string_view text, ShapeFlag* shape, std::string* error) {
  shape->dims.clear();
  for (absl::string_view d : absl::StrSplit(text, ',')) {
    int64_t size;
    if (!absl::SimpleAtoi(d, &size) || size <= 0) {
      *error = "want positive sizes separated by commas, such as 1,3,224,224";
      return false;
    }
    shape->dims.push_back(size);
  }
  return true;
}

std::string AbslUnparseFlag(const ShapeFlag& shape) { return absl::StrJoin(shape.dims, ","); }

// --mode: eval or train.
struct ModeFlag {
  featx::Mode mode = featx::Mode::kEval;
};

bool AbslParseFlag(absl::string_view text, ModeFlag* mode, std::string* error) {
  if (text != "eval" && text != "train") {
    *error = "want eval or train";
    return false;
  }
  mode->mode = text == "train" ? featx::Mode::kTrain : featx::Mode::kEval;
  return true;
}

std::string AbslUnparseFlag(const ModeFlag& mode) {
  return mode.mode == featx::Mode::kTrain ? "train" : "eval";
}

// Each help string is "VALUE  description": what follows `--name=` in the
// usage text, two spaces, then what the flag does.
ABSL_FLAG(ModeFlag, mode, {}, "eval|train  which mode's graph (default eval)");
ABSL_FLAG(std::vector<std::string>, leaf_modules, {},
          "A,B  modules to keep whole: class names or module paths");
ABSL_FLAG(std::vector<std::string>, autowrap_functions, {},
          "f,g  TorchScript functions to keep as one node");
ABSL_FLAG(bool, bodies, false, "true  graph --format=text: also show each leaf's inlined body");
ABSL_FLAG(std::string, format, "text",
          "FORMAT  nodes: text (one name per line, for --mode), table (one row per node: "
          "name, opcode, target, module, and with --input_shape dtype, shape, channels, "
          "stride), json ({\"train\": [names], \"eval\": [names], \"nodes\": [the table's "
          "rows]}); graph: text (featx's IR, one node per line), dot, svg or png (Graphviz; "
          "svg and png run `dot`)");
ABSL_FLAG(std::string, filter, "",
          "GLOB  nodes: only names matching a shell-style glob ('*' any run of characters, "
          "dots included; '?' one character): --filter='layer3.*.add'");
ABSL_FLAG(std::string, op, "",
          "OP  nodes: only nodes computing this operator, lower case, without namespace or "
          "in-place '_': relu lists aten::relu_, F.relu and nn.ReLU modules");
ABSL_FLAG(std::vector<std::string>, return_nodes, {},
          "a,b:key  nodes to return, each `name`, `name:key` or `glob:PATTERN`; a truncated "
          "name (\"layer2\") means the last node inside it; a glob returns every match, "
          "keyed by name");
ABSL_FLAG(std::vector<std::string>, train_return_nodes, {},
          "...  extract: per-mode return nodes, given with --eval_return_nodes");
ABSL_FLAG(std::vector<std::string>, eval_return_nodes, {},
          "...  extract: per-mode return nodes, given with --train_return_nodes");
ABSL_FLAG(std::string, out, "",
          "FILE  extract: where to write the extractor; graph: where to write the picture "
          "(dot: stdout if not given)");
ABSL_FLAG(ShapeFlag, input_shape, {},
          "1,3,224,224  the input's shape. run: required; check: default 1,3,224,224; "
          "codegen: the manifest then lists each output's dtype and shape; nodes: fills "
          "the shape columns (one run on a fixed-seed input)");
ABSL_FLAG(std::string, print_after, "",
          "PASS  graph: the graph, in text form, right after this pass of the pipeline that "
          "prunes to --return_nodes (list: the pipeline's passes, in order)");
ABSL_FLAG(std::string, backend, "torchscript",
          "torchscript|cpp  graph --print_after: whose pipeline (cpp takes --optimize as "
          "codegen does)");
ABSL_FLAG(int32_t, depth, 0,
          "K  graph: draw each module K components deep as one box (0: every node)");
ABSL_FLAG(std::string, class_name, "", "C  codegen: the generated class (required)");
ABSL_FLAG(std::string, namespace, "", "N  codegen: its C++ namespace (required)");
ABSL_FLAG(std::string, out_dir, "",
          "DIR  codegen: where the files go (required; created if missing)");
ABSL_FLAG(std::string, stem, "",
          "S  codegen: file stem (default: class_name in snake_case, ResNet18Features -> "
          "resnet18_features)");
ABSL_FLAG(std::vector<std::string>, load_library, {},
          "A.so,B.so  load these TorchScript operator libraries before the model (a model "
          "calling torchvision::nms needs torchvision's C++ ops)");
ABSL_FLAG(std::string, optimize, "",
          "inference|none  codegen (default inference): BatchNorm folded, ReLU fused, "
          "prepacked channels_last convolutions (eval mode; none: one ATen call per node, "
          "exact); extract (default none): freeze + optimize_for_inference, eval only");
ABSL_FLAG(bool, channels_last_outputs, false,
          "true  codegen --optimize=inference: leave 4-d outputs channels_last instead of "
          "copying them to NCHW");
ABSL_FLAG(int32_t, threads, 0, "N  run: intra-op threads (default: LibTorch's)");
ABSL_FLAG(std::string, save, "",
          "FILE  run: also write the outputs as a dict that Python's torch.load reads");

namespace featx {
namespace {

// Exit codes.
constexpr int kOk = 0;
constexpr int kBadInput = 1;
constexpr int kBadUsage = 2;

// One line for the user. LibTorch's interpreter errors start with a generic
// sentence and end with the cause ("RuntimeError: ..."), so those keep the
// last line instead of the first.
std::string OneLine(absl::string_view message) {
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n', absl::SkipWhitespace());
  if (lines.empty()) return "unknown error";
  if (absl::StrContains(lines.front(), "failed in the TorchScript interpreter") &&
      lines.size() > 1) {
    return absl::StrCat(absl::StripSuffix(lines.front(), "."), ": ",
                        absl::StripAsciiWhitespace(lines.back()));
  }
  return std::string(lines.front());
}

int Fail(int code, absl::string_view message) {
  std::cerr << "featx: " << RephraseInternalAssert(OneLine(message)) << "\n";
  return code;
}

int UsageError(absl::string_view message) { return Fail(kBadUsage, message); }

// ---- Files

// Creates `dir` and its missing parents, as `mkdir -p`.
absl::Status MakeDirs(const std::string& dir) {
  std::string path;
  for (absl::string_view part : absl::StrSplit(dir, '/')) {
    absl::StrAppend(&path, part, "/");
    if (part.empty() || part == "." || part == "..") continue;
    if (mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create directory '", absl::StripSuffix(path, "/"), "': ", strerror(errno)));
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    int reason = errno == EEXIST || errno == 0 ? ENOTDIR : errno;  // a file is in the way
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory '", dir, "': ", strerror(reason)));
  }
  return absl::OkStatus();
}

// Writes `data` to `path`; the error gives the OS's reason.
absl::Status WriteFile(const std::string& path, absl::string_view data) {
  errno = 0;
  std::ofstream out(path, std::ios::binary);
  if (out.is_open()) out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (out.is_open()) out.close();
  if (!out.good()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write '", path, "': ", errno != 0 ? strerror(errno) : "write failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::jit::Module> Load(const std::string& path) {
  for (const std::string& library : absl::GetFlag(FLAGS_load_library)) {
    absl::Status loaded = LoadOperatorLibrary(library);
    if (!loaded.ok()) return loaded;
  }
  return LoadModel(path);
}

Mode FlagMode() { return absl::GetFlag(FLAGS_mode).mode; }

TraceOptions FlagTraceOptions() {
  TraceOptions options;
  options.leaf_modules = absl::GetFlag(FLAGS_leaf_modules);
  options.autowrap_functions = absl::GetFlag(FLAGS_autowrap_functions);
  return options;
}

ExtractorSpec FlagExtractorSpec() {
  return {.return_nodes = absl::GetFlag(FLAGS_return_nodes),
          .train_return_nodes = absl::GetFlag(FLAGS_train_return_nodes),
          .eval_return_nodes = absl::GetFlag(FLAGS_eval_return_nodes),
          .trace_options = FlagTraceOptions()};
}

// "text" unless the user chose one of `allowed`; an error naming them otherwise.
absl::StatusOr<std::string> FlagFormat(const std::vector<std::string>& allowed) {
  std::string format = absl::GetFlag(FLAGS_format);
  if (std::find(allowed.begin(), allowed.end(), format) == allowed.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be ", absl::StrJoin(allowed, ", "), ", not '", format, "'"));
  }
  return format;
}

// ---- nodes

// `s`, cut to `width` characters with a trailing ellipsis if longer.
std::string Fit(const std::string& s, size_t width) {
  if (s.size() <= width) return s;
  return absl::StrCat(s.substr(0, width - 1), "\u2026");
}

std::string Optional(const std::optional<int64_t>& v) {
  return v.has_value() ? absl::StrCat(*v) : "";
}

std::string ShapeText(const NodeDescription& n) {
  return n.dtype.empty() ? "" : absl::StrCat("[", absl::StrJoin(n.shape, ", "), "]");
}

// Aligned columns, cells cut at the widths below (an ellipsis marks a cut).
void PrintTable(const std::vector<NodeDescription>& rows) {
  struct Column {
    const char* title;
    size_t max_width;
    std::function<std::string(const NodeDescription&)> cell;
  };
  const std::vector<Column> columns = {
      {"name", 40, [](const NodeDescription& n) { return n.name; }},
      {"opcode", 13, [](const NodeDescription& n) { return n.opcode; }},
      {"target", 28, [](const NodeDescription& n) { return n.target; }},
      {"module", 20, [](const NodeDescription& n) { return n.module; }},
      {"dtype", 8, [](const NodeDescription& n) { return n.dtype.empty() ? "" : n.dtype; }},
      {"shape", 22, [](const NodeDescription& n) { return ShapeText(n); }},
      {"channels", 8, [](const NodeDescription& n) { return Optional(n.channels); }},
      {"stride", 6, [](const NodeDescription& n) { return Optional(n.stride); }},
  };
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (const Column& c : columns) widths.push_back(strlen(c.title));
  for (const NodeDescription& row : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < columns.size(); ++i) {
      line.push_back(Fit(columns[i].cell(row), columns[i].max_width));
      // The ellipsis is one column wide but three bytes.
      size_t shown = line.back().size() - (line.back().size() > columns[i].max_width ? 2 : 0);
      widths[i] = std::max(widths[i], shown);
    }
    cells.push_back(std::move(line));
  }
  auto print = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      size_t shown = line[i].size() - (line[i].size() > columns[i].max_width ? 2 : 0);
      absl::StrAppend(&out, line[i],
                      i + 1 < line.size() ? std::string(widths[i] - shown + 2, ' ') : "");
    }
    std::cout << absl::StripTrailingAsciiWhitespace(out) << "\n";
  };
  std::vector<std::string> titles;
  for (const Column& c : columns) titles.push_back(c.title);
  print(titles);
  for (const auto& line : cells) print(line);
}

nlohmann::ordered_json RowJson(const NodeDescription& n) {
  nlohmann::ordered_json j;
  j["name"] = n.name;
  j["opcode"] = n.opcode;
  j["target"] = n.target;
  j["module"] = n.module;
  j["type"] = n.type;
  j["dtype"] = n.dtype.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.dtype);
  j["shape"] = n.dtype.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.shape);
  j["channels"] =
      n.channels.has_value() ? nlohmann::ordered_json(*n.channels) : nlohmann::ordered_json();
  j["stride"] = n.stride.has_value() ? nlohmann::ordered_json(*n.stride) : nlohmann::ordered_json();
  return j;
}

int Nodes(const std::string& model_path) {
  absl::StatusOr<std::string> format = FlagFormat({"text", "table", "json"});
  if (!format.ok()) return UsageError(format.status().message());
  NodeQuery query{.trace_options = FlagTraceOptions(),
                  .mode = FlagMode(),
                  .filter = absl::GetFlag(FLAGS_filter),
                  .op = absl::GetFlag(FLAGS_op),
                  .input_shape = absl::GetFlag(FLAGS_input_shape).dims};
  if (*format == "text" && !query.input_shape.empty()) {
    return UsageError("nodes --input_shape needs --format=table or --format=json");
  }
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  absl::StatusOr<std::vector<NodeDescription>> rows = DescribeNodes(*model, query);
  if (!rows.ok()) return Fail(kBadInput, rows.status().message());
  if (*format == "text") {
    for (const NodeDescription& n : *rows) std::cout << n.name << "\n";
  } else if (*format == "table") {
    PrintTable(*rows);
  } else {
    // The names of both modes, as torchvision's get_graph_node_names, and the rows of --mode.
    nlohmann::ordered_json j;
    for (Mode mode : {Mode::kTrain, Mode::kEval}) {
      std::vector<std::string> names;
      if (mode == query.mode) {
        for (const NodeDescription& n : *rows) names.push_back(n.name);
      } else {
        NodeQuery other = query;
        other.mode = mode;
        other.input_shape.clear();
        absl::StatusOr<std::vector<NodeDescription>> other_rows = DescribeNodes(*model, other);
        if (!other_rows.ok()) return Fail(kBadInput, other_rows.status().message());
        for (const NodeDescription& n : *other_rows) names.push_back(n.name);
      }
      j[mode == Mode::kTrain ? "train" : "eval"] = names;
    }
    j["nodes"] = nlohmann::ordered_json::array();
    for (const NodeDescription& n : *rows) j["nodes"].push_back(RowJson(n));
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return kOk;
}

// ---- graph

// The full path of `program` found on PATH, or empty.
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs Graphviz's `dot -T<format> -o <out>` on `dot_text`.
absl::Status RunDot(const std::string& dot_text, const std::string& format,
                    const std::string& out) {
  std::string dot = FindOnPath("dot");
  if (dot.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--format=", format,
                     " needs Graphviz's `dot` on PATH (Debian: apt-get install "
                     "graphviz; ./bazelw installs it), or use --format=dot"));
  }
  char input[] = "/tmp/featx_graph_XXXXXX";
  int fd = mkstemp(input);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot create a temporary file: ", strerror(errno)));
  close(fd);
  char errors[] = "/tmp/featx_dot_stderr_XXXXXX";
  int err_fd = mkstemp(errors);
  absl::Status status = WriteFile(input, dot_text);
  if (status.ok() && err_fd >= 0) {
    std::string type = absl::StrCat("-T", format);
    std::vector<char*> argv = {const_cast<char*>(dot.c_str()),
                               const_cast<char*>(type.c_str()),
                               const_cast<char*>("-o"),
                               const_cast<char*>(out.c_str()),
                               input,
                               nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    pid_t pid;
    int spawned = posix_spawn(&pid, dot.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int wait_status = 0;
    if (spawned != 0) {
      status = absl::InternalError(absl::StrCat("cannot run '", dot, "': ", strerror(spawned)));
    } else if (waitpid(pid, &wait_status, 0) < 0 || !WIFEXITED(wait_status) ||
               WEXITSTATUS(wait_status) != 0) {
      std::ifstream in(errors);
      std::string first;
      std::getline(in, first);
      status = absl::FailedPreconditionError(
          absl::StrCat("`dot -T", format, "` failed: ", first.empty() ? "no message" : first));
    }
  }
  if (err_fd >= 0) close(err_fd);
  unlink(input);
  unlink(errors);
  return status;
}

absl::StatusOr<bool> FlagOptimize(bool by_default);

// graph --print_after=PASS: the graph after one pass of a back end's pipeline.
int GraphAfterPassCommand(const std::string& model_path) {
  std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend != "torchscript" && backend != "cpp") {
    return UsageError(absl::StrCat("--backend must be torchscript or cpp, not '", backend, "'"));
  }
  absl::StatusOr<bool> optimize = FlagOptimize(/*by_default=*/true);
  if (!optimize.ok()) return UsageError(optimize.status().message());
  PipelineSpec pipeline{
      .return_nodes = absl::GetFlag(FLAGS_return_nodes),
      .trace_options = FlagTraceOptions(),
      .mode = FlagMode(),
      .backend =
          backend == "cpp" ? PipelineSpec::Backend::kCpp : PipelineSpec::Backend::kTorchScript,
      .optimize = *optimize ? CppOptimization::kInference : CppOptimization::kNone};
  // The pass names are known before the model is.
  std::vector<std::string> passes = PipelinePassNames(pipeline);
  std::string pass = absl::GetFlag(FLAGS_print_after);
  if (pass == "list") {
    for (const std::string& name : passes) std::cout << name << "\n";
    return kOk;
  }
  if (std::find(passes.begin(), passes.end(), pass) == passes.end()) {
    return UsageError(absl::StrCat("unknown pass '", pass,
                                   "' for --print_after; passes: ", absl::StrJoin(passes, ", ")));
  }
  if (pipeline.return_nodes.empty()) {
    return UsageError("graph --print_after needs --return_nodes (the passes prune to them)");
  }
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  absl::StatusOr<std::string> text = GraphAfterPass(*model, pipeline, pass);
  if (!text.ok()) return Fail(kBadInput, text.status().message());
  std::cout << *text;
  return kOk;
}

int GraphCommand(const std::string& model_path) {
  if (!absl::GetFlag(FLAGS_print_after).empty()) return GraphAfterPassCommand(model_path);
  for (const char* pipeline_flag : {"backend", "optimize"}) {
    if (absl::FindCommandLineFlag(pipeline_flag)->CurrentValue() !=
        absl::FindCommandLineFlag(pipeline_flag)->DefaultValue()) {
      return UsageError(absl::StrCat("graph --", pipeline_flag, " goes with --print_after"));
    }
  }
  absl::StatusOr<std::string> format = FlagFormat({"text", "dot", "svg", "png"});
  if (!format.ok()) return UsageError(format.status().message());
  std::string out = absl::GetFlag(FLAGS_out);
  int depth = absl::GetFlag(FLAGS_depth);
  if (depth < 0) return UsageError("--depth must be 0 or more");
  if (*format == "text") {
    for (const char* picture_flag : {"return_nodes", "depth", "out"}) {
      if (absl::FindCommandLineFlag(picture_flag)->CurrentValue() !=
          absl::FindCommandLineFlag(picture_flag)->DefaultValue()) {
        return UsageError(absl::StrCat("graph --", picture_flag,
                                       " draws a picture: give --format=dot, svg or png"));
      }
    }
  } else if (*format != "dot" && out.empty()) {
    return UsageError(absl::StrCat("graph --format=", *format, " needs --out=FILE"));
  }
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  if (*format == "text") {
    TraceOptions options = FlagTraceOptions();
    options.with_bodies = absl::GetFlag(FLAGS_bodies);
    absl::StatusOr<std::string> text = GraphText(*model, FlagMode(), options);
    if (!text.ok()) return Fail(kBadInput, text.status().message());
    std::cout << *text;
    return kOk;
  }
  std::string title = model_path.substr(model_path.find_last_of('/') + 1);
  absl::StatusOr<std::string> dot =
      DrawGraph(*model, {.trace_options = FlagTraceOptions(),
                         .mode = FlagMode(),
                         .return_nodes = absl::GetFlag(FLAGS_return_nodes),
                         .depth = depth,
                         .title = title});
  if (!dot.ok()) return Fail(kBadInput, dot.status().message());
  absl::Status written = *format == "dot" ? (out.empty() ? absl::OkStatus() : WriteFile(out, *dot))
                                          : RunDot(*dot, *format, out);
  if (!written.ok()) return Fail(kBadInput, written.message());
  if (*format == "dot" && out.empty()) std::cout << *dot;
  return kOk;
}

// ---- extract, codegen

absl::StatusOr<bool> FlagOptimize(bool by_default) {
  std::string optimize = absl::GetFlag(FLAGS_optimize);
  if (optimize.empty()) return by_default;
  if (optimize != "none" && optimize != "inference") {
    return absl::InvalidArgumentError(
        absl::StrCat("--optimize must be inference or none, not '", optimize, "'"));
  }
  return optimize == "inference";
}

int Extract(const std::string& model_path) {
  absl::StatusOr<bool> optimize = FlagOptimize(/*by_default=*/false);
  if (!optimize.ok()) return UsageError(optimize.status().message());
  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return UsageError("extract needs --out=EXTRACTOR.pt");
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  ExtractorSpec spec = FlagExtractorSpec();
  spec.optimize_for_inference = *optimize;
  absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(*model, spec);
  if (!extractor.ok()) return Fail(kBadInput, extractor.status().message());
  try {
    extractor->save(out);
  } catch (const c10::Error& e) {
    return Fail(kBadInput, absl::StrCat("cannot write '", out, "': ", e.what_without_backtrace()));
  }
  return kOk;
}

int Codegen(const std::string& model_path) {
  absl::StatusOr<bool> optimize = FlagOptimize(/*by_default=*/true);
  if (!optimize.ok()) return UsageError(optimize.status().message());
  if (absl::GetFlag(FLAGS_return_nodes).empty()) return UsageError("codegen needs --return_nodes");
  for (auto [flag, name] :
       {std::pair(&FLAGS_class_name, "class_name"), std::pair(&FLAGS_namespace, "namespace"),
        std::pair(&FLAGS_out_dir, "out_dir")}) {
    if (absl::GetFlag(*flag).empty()) return UsageError(absl::StrCat("codegen needs --", name));
  }
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  std::string model_file = model_path.substr(model_path.find_last_of('/') + 1);
  absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
      *model, {.return_nodes = absl::GetFlag(FLAGS_return_nodes),
               .trace_options = FlagTraceOptions(),
               .mode = FlagMode(),
               .class_name = absl::GetFlag(FLAGS_class_name),
               .namespace_name = absl::GetFlag(FLAGS_namespace),
               .model_file = model_file,
               .stem = absl::GetFlag(FLAGS_stem),
               .input_shape = absl::GetFlag(FLAGS_input_shape).dims,
               .optimize = *optimize ? CppOptimization::kInference : CppOptimization::kNone,
               .channels_last_outputs = absl::GetFlag(FLAGS_channels_last_outputs)});
  if (!files.ok()) return Fail(kBadInput, files.status().message());
  std::string dir = absl::GetFlag(FLAGS_out_dir);
  absl::Status made = MakeDirs(dir);
  if (!made.ok()) return Fail(kBadInput, made.message());
  const std::pair<const char*, absl::string_view> contents[] = {
      {".h", files->header},
      {".cc", files->source},
      {".weights", absl::string_view(files->weights.data(), files->weights.size())},
      {".json", files->manifest}};
  for (const auto& [ext, data] : contents) {
    absl::Status written = WriteFile(absl::StrCat(dir, "/", files->stem, ext), data);
    if (!written.ok()) return Fail(kBadInput, written.message());
  }
  return kOk;
}

// ---- run, check

// featx run: prints each output's key, shape and dtype, and for 4-d outputs
// the channel count and the stride relative to the input (timm's feature info).
int RunCommand(const std::string& model_path) {
  std::vector<int64_t> shape = absl::GetFlag(FLAGS_input_shape).dims;
  if (shape.empty()) return UsageError("run needs --input_shape=N,C,H,W with positive sizes");
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) return UsageError("--threads must be a positive integer");
  if (threads > 0) at::set_num_threads(threads);
  absl::StatusOr<torch::jit::Module> loaded = Load(model_path);
  if (!loaded.ok()) return Fail(kBadInput, loaded.status().message());
  torch::jit::Module model = *loaded;
  ExtractorSpec spec = FlagExtractorSpec();
  if (!spec.return_nodes.empty()) {
    absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(model, spec);
    if (!extractor.ok()) return Fail(kBadInput, extractor.status().message());
    model = *extractor;
  }
  model.eval();
  torch::manual_seed(0);
  at::Tensor input = torch::randn(shape);
  c10::IValue result;
  try {
    torch::NoGradGuard no_grad;
    result = model.forward({input});
  } catch (const c10::Error& e) {
    return Fail(kBadInput, absl::StrCat("running the model failed: ", e.what_without_backtrace()));
  }
  c10::Dict<std::string, at::Tensor> outputs;
  if (result.isTensor()) {
    outputs.insert("output", result.toTensor());
  } else if (result.isGenericDict()) {
    for (const auto& item : result.toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) {
        return Fail(kBadInput, "the model returns a dict that is not Dict[str, Tensor]");
      }
      outputs.insert(item.key().toStringRef(), item.value().toTensor());
    }
  } else {
    return Fail(kBadInput, absl::StrCat("the model returns a ", result.tagKind(),
                                        ", not a Tensor or Dict[str, Tensor]"));
  }
  for (const auto& item : outputs) {
    const at::Tensor& t = item.value();
    std::cout << item.key() << "\tshape=[" << absl::StrJoin(t.sizes(), ", ")
              << "]\tdtype=" << t.dtype().name();
    if (t.dim() == 4 && shape.size() == 4 && t.size(2) > 0) {
      std::cout << "\tchannels=" << t.size(1) << "\tstride=" << shape[2] / t.size(2);
    }
    std::cout << "\n";
  }
  std::string save = absl::GetFlag(FLAGS_save);
  if (!save.empty()) {
    std::vector<char> bytes = torch::pickle_save(outputs);
    absl::Status written = WriteFile(save, absl::string_view(bytes.data(), bytes.size()));
    if (!written.ok()) return Fail(kBadInput, written.message());
  }
  return kOk;
}

// featx check: one line per value, "key<TAB>max_abs=..<TAB>max_rel=..<TAB>ok|MISMATCH".
int CheckCommand(const std::string& model_path) {
  ExtractorSpec spec = FlagExtractorSpec();
  if (spec.return_nodes.empty()) return UsageError("check needs --return_nodes");
  std::vector<int64_t> shape = absl::GetFlag(FLAGS_input_shape).dims;
  if (shape.empty()) shape = {1, 3, 224, 224};
  absl::StatusOr<torch::jit::Module> model = Load(model_path);
  if (!model.ok()) return Fail(kBadInput, model.status().message());
  torch::manual_seed(0);
  at::Tensor input = torch::randn(shape);
  absl::StatusOr<CheckReport> report;
  {
    torch::NoGradGuard no_grad;
    report = CheckExtractor(*model, spec, {input});
  }
  if (!report.ok()) {
    return Fail(kBadInput, absl::StrCat(report.status().message(), " (input shape [",
                                        absl::StrJoin(shape, ", "), "]; see --input_shape)"));
  }
  int bad = 0;
  std::vector<const ValueCheck*> all;
  for (const ValueCheck& c : report->forward_parts) all.push_back(&c);
  for (const ValueCheck& c : report->outputs) all.push_back(&c);
  for (const ValueCheck* c : all) {
    std::cout << c->key << "\tmax_abs=" << c->max_abs_diff << "\tmax_rel=" << c->max_rel_diff
              << "\t" << (c->ok ? "ok" : "MISMATCH");
    if (!c->problem.empty()) std::cout << " (" << c->problem << ")";
    std::cout << "\n";
    bad += c->ok ? 0 : 1;
  }
  if (bad > 0) {
    return Fail(kBadInput, absl::StrCat("check failed: ", bad, " of ", all.size(),
                                        " values differ by more than 1e-5 + 1e-5 * |reference|"));
  }
  return kOk;
}

// ---- The command table

struct Command {
  const char* name;
  const char* summary;
  std::vector<const char*> flags;  // besides --load_library, which every command takes
  int (*handler)(const std::string& model_path);
};

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = new std::vector<Command>{
      {"nodes",
       "list the node names torchvision's get_graph_node_names would give; --format=table "
       "adds each node's op, module and (with --input_shape) dtype, shape, channels, stride",
       {"mode", "leaf_modules", "autowrap_functions", "format", "filter", "op", "input_shape"},
       Nodes},
      {"graph",
       "print the traced graph in featx's text form, or draw it with Graphviz "
       "(--format=dot|svg|png): clusters per module, outputs highlighted, pruned nodes grey; "
       "--print_after=PASS prints it after a pass of the pipeline that prunes to --return_nodes",
       {"mode", "leaf_modules", "autowrap_functions", "bodies", "format", "return_nodes", "depth",
        "out", "print_after", "backend", "optimize"},
       GraphCommand},
      {"extract",
       "write a TorchScript feature extractor (returns Dict[str, Tensor])",
       {"return_nodes", "train_return_nodes", "eval_return_nodes", "leaf_modules",
        "autowrap_functions", "out", "optimize"},
       Extract},
      {"codegen",
       "write standalone C++ for an extractor: DIR/<stem>.h, .cc, .weights (only the needed "
       "tensors) and .json (a manifest of the outputs)",
       {"return_nodes", "leaf_modules", "autowrap_functions", "mode", "class_name", "namespace",
        "out_dir", "input_shape", "stem", "optimize", "channels_last_outputs"},
       Codegen},
      {"run",
       "run a model or extractor on a fixed-seed random input and print each output's key, "
       "shape, dtype, and for 4-d outputs channels and stride relative to the input",
       {"input_shape", "return_nodes", "leaf_modules", "autowrap_functions", "threads", "save"},
       RunCommand},
      {"check",
       "verify an extractor (eval mode) on a fixed-seed random input: the whole traced graph, "
       "run by featx, must reproduce the model's forward, and each returned value must equal "
       "its node's value in that graph cloned when computed. Prints max absolute and relative "
       "differences per key; exit 1 if any differs by more than 1e-5 + 1e-5 * |reference|",
       {"input_shape", "return_nodes", "leaf_modules", "autowrap_functions"},
       CheckCommand},
  };
  return *commands;
}

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

bool Takes(const Command& c, absl::string_view flag) {
  if (flag == "load_library") return true;
  return std::any_of(c.flags.begin(), c.flags.end(), [&](const char* f) { return flag == f; });
}

// `text` wrapped to 80 columns, every line after the first indented by `indent`.
std::string Wrap(absl::string_view text, size_t indent, size_t first_column) {
  std::string out;
  size_t column = first_column;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (column > indent && column + 1 + word.size() > 80) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    absl::StrAppend(&out, word);
    column += word.size();
  }
  return out;
}

// The usage text: every command, or one command and its flags.
std::string Usage(const Command* only) {
  std::string out = only == nullptr
                        ? "usage: featx <command> MODEL.pt [flags]\n\ncommands:\n"
                        : absl::StrCat("usage: featx ", only->name, " MODEL.pt [flags]\n\n");
  std::vector<std::string> flags = {"load_library"};
  for (const Command& c : Commands()) {
    if (only != nullptr && &c != only) continue;
    if (only == nullptr)
      absl::StrAppend(&out, "  ", c.name, std::string(9 - strlen(c.name), ' '),
                      Wrap(c.summary, 11, 11), "\n");
    for (const char* f : c.flags) {
      if (std::find(flags.begin(), flags.end(), f) == flags.end()) flags.push_back(f);
    }
  }
  if (only != nullptr) absl::StrAppend(&out, Wrap(only->summary, 0, 0), "\n");
  absl::StrAppend(&out, "\nflags", only == nullptr ? " (the commands that take each)" : "", ":\n");
  std::rotate(flags.begin(), flags.begin() + 1, flags.end());  // --load_library last
  for (const std::string& name : flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string help = flag->Help();
    size_t split = help.find("  ");
    std::string head = absl::StrCat("  --", name, "=", help.substr(0, split));
    std::string commands;
    if (only == nullptr) {
      std::vector<std::string> users;
      for (const Command& c : Commands()) {
        if (Takes(c, name) && std::find(c.flags.begin(), c.flags.end(), name) != c.flags.end()) {
          users.push_back(c.name);
        }
      }
      commands =
          users.empty() ? "[every command] " : absl::StrCat("[", absl::StrJoin(users, ", "), "] ");
    }
    std::string body = absl::StrCat(commands, help.substr(split + 2));
    if (head.size() + 2 > 29) {
      absl::StrAppend(&out, head, "\n", std::string(29, ' '), Wrap(body, 29, 29), "\n");
    } else {
      absl::StrAppend(&out, head, std::string(29 - head.size(), ' '), Wrap(body, 29, 29), "\n");
    }
  }
  if (only == nullptr) {
    absl::StrAppend(&out,
                    "\n`featx COMMAND --help` shows one command's flags. Errors are one line on "
                    "stderr;\nexit code 1 for bad input, 2 for bad usage.\n");
  }
  return out;
}

int Run(int argc, char** argv) {
  std::vector<absl::string_view> positional;
  std::vector<std::pair<std::string, std::string>> flags;  // in order given
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help" || arg == "--helpfull") {
      help = true;
    } else if (absl::StartsWith(arg, "-") && arg.size() > 1) {
      absl::string_view body = absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
      std::pair<std::string, std::string> kv = absl::StrSplit(body, absl::MaxSplits('=', 1));
      if (!absl::StrContains(body, '=')) kv.second = "\x01";  // no value given
      flags.push_back(kv);
    } else {
      positional.push_back(arg);
    }
  }
  const Command* command = positional.empty() ? nullptr : FindCommand(positional[0]);
  if (!positional.empty() && positional[0] == "help" && positional.size() <= 2) {
    help = true;  // `featx help` or `featx help COMMAND`
    command = positional.size() == 2 ? FindCommand(positional[1]) : nullptr;
  }
  if (help) {
    std::cout << Usage(command);
    return kOk;
  }
  if (positional.empty()) return UsageError("missing command (see featx --help)");
  if (command == nullptr) {
    return UsageError(absl::StrCat("unknown command '", positional[0], "' (see featx --help)"));
  }
  if (positional.size() != 2) {
    return UsageError(positional.size() < 2 ? "missing MODEL.pt (see featx --help)"
                                            : absl::StrCat("unexpected argument '", positional[2],
                                                           "' (see featx --help)"));
  }
  for (const auto& [name, value] : flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !Takes(*command, name)) {
      return UsageError(absl::StrCat("unknown flag --", name, " for '", command->name,
                                     "' (see featx ", command->name, " --help)"));
    }
    std::string text = value;
    if (text == "\x01") {
      if (!flag->IsOfType<bool>()) {
        return UsageError(absl::StrCat("flag --", name, " needs a value (--", name, "=value)"));
      }
      text = "true";
    }
    std::string error;
    if (!flag->ParseFrom(text, &error)) {
      // Abseil's error is "Illegal value 'x' specified for flag 'name'[; why]".
      size_t why = error.find("; ");
      std::string reason = why == std::string::npos
                               ? (flag->IsOfType<int32_t>() ? "want an integer"
                                  : flag->IsOfType<bool>()  ? "want true or false"
                                                            : "")
                               : error.substr(why + 2);
      return UsageError(
          absl::StrCat("bad value '", text, "' for --", name, reason.empty() ? "" : ": ", reason));
    }
    // Malformed return nodes are a bad flag value, found before the model is read.
    if (name == "return_nodes" || name == "train_return_nodes" || name == "eval_return_nodes") {
      if (absl::Status syntax = CheckReturnNodesSyntax(text); !syntax.ok()) {
        return UsageError(
            absl::StrCat("bad value '", text, "' for --", name, ": ", syntax.message()));
      }
    }
  }
  return command->handler(std::string(positional[1]));
}

}  // namespace
}  // namespace featx

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("featx <command> MODEL.pt [flags]; see featx --help");
  try {
    return featx::Run(argc, argv);
  } catch (const std::exception& e) {
    // LibTorch may throw from places featx does not wrap; never show a backtrace.
    return featx::Fail(featx::kBadInput, featx::DescribeLibTorchError(e));
  } catch (...) {
    // Not a std::exception (a library throwing an int, say): still one line.
    return featx::Fail(featx::kBadInput, "an error of unknown type was thrown");
  }
}
