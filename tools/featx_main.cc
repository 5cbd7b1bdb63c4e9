// featx: the command-line tool.
//
//   featx nodes MODEL.pt [--mode=eval|train] [--leaf_modules=A,B]
//                        [--autowrap_functions=f,g] [--format=text|json]
//   featx graph MODEL.pt [--mode=eval|train] [--leaf_modules=...] [--autowrap_functions=...]
//                        [--print_after=PASS|list --return_nodes=... [--backend=torchscript|cpp]
//                         [--optimize=inference|none]]
//   featx extract MODEL.pt --return_nodes=a,b:key --out=EXTRACTOR.pt
//                          [--train_return_nodes=... --eval_return_nodes=...]
//                          [--leaf_modules=...] [--autowrap_functions=...]
//                          [--optimize=none|inference]
//   featx codegen MODEL.pt --return_nodes=... --class_name=ResNet18Features
//                          --namespace=vision --out_dir=DIR [--mode=eval|train]
//                          [--leaf_modules=...] [--input_shape=1,3,224,224] [--stem=...]
//                          [--optimize=inference|none] [--channels_last_outputs=true]
//   featx run MODEL_OR_EXTRACTOR.pt --input_shape=1,3,224,224 [--return_nodes=...]
//                          [--threads=N] [--save=OUTPUTS.pt]
//   featx check MODEL.pt --return_nodes=... [--input_shape=1,3,224,224]
//                          [--leaf_modules=...] [--autowrap_functions=...]
//   Every command also takes --load_library=LIB.so[,...]: operator libraries
//   to load before the model.
//
// Errors are one line on stderr: exit code 1 for bad input (a missing or
// unreadable model, a model featx cannot trace), 2 for bad usage.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "featx.h"
#include "graph/text.h"
#include "naming/naming.h"
#include "ATen/Parallel.h"
#include "torch/csrc/api/include/torch/serialize.h"
#include "torch/script.h"

namespace featx {
namespace {

constexpr char kUsage[] =
    R"(usage: featx <command> MODEL.pt [flags]

commands:
  nodes    list the node names torchvision's get_graph_node_names would give
  graph    print the traced graph in featx's text form, with node names
  extract  write a TorchScript feature extractor (returns Dict[str, Tensor])
  codegen  write standalone C++ for an extractor: DIR/<stem>.h, .cc, .weights
           (only the needed tensors) and .json (a manifest of the outputs)
  run      run a model or extractor on a fixed-seed random input and print
           each output's key, shape, dtype, and for 4-d outputs channels and
           stride relative to the input
  check    verify an extractor (eval mode) on a fixed-seed random input: the
           whole traced graph, run by featx, must reproduce the model's
           forward, and each returned value must equal its node's value in
           that graph cloned when computed. Prints max absolute and relative
           differences per key; exit 1 if any differs by more than
           1e-5 + 1e-5 * |reference|

flags:
  --mode=eval|train          nodes, graph: which mode (default eval)
  --leaf_modules=A,B         modules to keep whole: class names or module paths
  --autowrap_functions=f,g   TorchScript functions to keep as one node
  --bodies=true              graph: also show each leaf's inlined body
  --print_after=PASS         graph: the graph after this pass of the pipeline
                             that prunes to --return_nodes (list: the passes)
  --backend=torchscript|cpp  graph --print_after: whose pipeline (default
                             torchscript; cpp takes --optimize as codegen)
  --format=text|json         nodes: one name per line (text, for --mode) or
                             {"train": [...], "eval": [...]} (json)
  --return_nodes=a,b:key     extract, run, check: nodes to return, each `name` or
                             `name:key`; a truncated name ("layer2") means the
                             last node inside it
  --train_return_nodes=...   extract: per-mode return nodes, given together
  --eval_return_nodes=...
  --out=FILE                 extract: where to write the extractor
  --input_shape=1,3,224,224  run: the input's shape (required); codegen: the
                             manifest lists each output's shape for it; check:
                             the input's shape (default 1,3,224,224)
  --class_name=C --namespace=N --out_dir=DIR
                             codegen: the generated class, its namespace, and
                             where the files go
  --stem=S                   codegen: file stem (default: class_name in
                             snake_case, ResNet18Features -> resnet18_features)
  --load_library=A.so,B.so   every command: load these TorchScript operator
                             libraries before the model (a model calling
                             torchvision::nms needs torchvision's C++ ops)
  --optimize=inference|none  codegen (default inference): BatchNorm folded,
                             ReLU fused, prepacked channels_last convolutions
                             (eval mode; none: one ATen call per node, exact);
                             extract (default none): freeze +
                             optimize_for_inference, eval only
  --channels_last_outputs=true
                             codegen --optimize=inference: leave 4-d outputs
                             channels_last instead of copying them to NCHW
  --threads=N                run: intra-op threads (default: LibTorch's)
  --save=FILE                run: also write the outputs as a dict that
                             Python's torch.load reads
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

// Exit codes.
constexpr int kOk = 0;
constexpr int kBadInput = 1;
constexpr int kBadUsage = 2;

// One line for the user. LibTorch's interpreter errors start with a generic
// sentence and end with the cause ("RuntimeError: ..."), so those keep the
// last line instead of the first.
std::string OneLine(absl::string_view message) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(message, '\n', absl::SkipWhitespace());
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

// featx run: prints each output's key, shape and dtype, and for 4-d outputs
// the channel count and the stride relative to the input (timm's feature info).
int RunModel(torch::jit::Module model, const ExtractorSpec& spec, const std::vector<int64_t>& shape,
             const std::string& save) {
  if (!spec.return_nodes.empty() || !spec.eval_return_nodes.empty()) {
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
    std::cout << item.key() << "\tshape=[" << absl::StrJoin(t.sizes(), ", ") << "]\tdtype="
              << t.dtype().name();
    if (t.dim() == 4 && shape.size() == 4 && t.size(2) > 0) {
      std::cout << "\tchannels=" << t.size(1) << "\tstride=" << shape[2] / t.size(2);
    }
    std::cout << "\n";
  }
  if (!save.empty()) {
    std::vector<char> bytes = torch::pickle_save(outputs);
    std::ofstream out(save, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) return Fail(kBadInput, absl::StrCat("cannot write '", save, "'"));
  }
  return kOk;
}

// featx check: one line per value, "key<TAB>max_abs=..<TAB>max_rel=..<TAB>ok|MISMATCH".
int CheckModel(const torch::jit::Module& model, const ExtractorSpec& spec,
               const std::vector<int64_t>& shape) {
  torch::manual_seed(0);
  at::Tensor input = torch::randn(shape);
  absl::StatusOr<CheckReport> report;
  {
    torch::NoGradGuard no_grad;
    report = CheckExtractor(model, spec, {input});
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

int Run(int argc, char** argv) {
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    help = help || std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h";
  }
  if (help || (argc == 2 && std::string(argv[1]) == "help")) {
    std::cout << kUsage;
    return kOk;
  }
  CommandLine cl;
  std::string error;
  if (!ParseCommandLine(argc, argv, &cl, &error)) {
    return Fail(kBadUsage, absl::StrCat(error, " (see featx --help)"));
  }
  const std::map<std::string, std::vector<std::string>> kFlags = {
      {"nodes", {"mode", "leaf_modules", "autowrap_functions", "format"}},
      {"graph", {"mode", "leaf_modules", "autowrap_functions", "bodies", "print_after",
                 "return_nodes", "backend", "optimize"}},
      {"extract",
       {"return_nodes", "train_return_nodes", "eval_return_nodes", "leaf_modules",
        "autowrap_functions", "out", "optimize"}},
      {"codegen",
       {"return_nodes", "leaf_modules", "autowrap_functions", "mode", "class_name", "namespace",
        "out_dir", "input_shape", "stem", "optimize", "channels_last_outputs"}},
      {"run", {"input_shape", "return_nodes", "leaf_modules", "autowrap_functions", "threads",
               "save"}},
      {"check", {"input_shape", "return_nodes", "leaf_modules", "autowrap_functions"}},
  };
  auto allowed = kFlags.find(cl.command);
  if (allowed == kFlags.end()) {
    return Fail(kBadUsage, absl::StrCat("unknown command '", cl.command, "' (see featx --help)"));
  }
  for (const auto& [key, value] : cl.flags) {
    const std::vector<std::string>& names = allowed->second;
    // Every command loads a model, so every command takes --load_library.
    if (key != "load_library" && std::find(names.begin(), names.end(), key) == names.end()) {
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
  options.with_bodies = cl.flags["bodies"] == "true";
  ExtractorSpec spec{.return_nodes = SplitList(cl.flags["return_nodes"]),
                     .train_return_nodes = SplitList(cl.flags["train_return_nodes"]),
                     .eval_return_nodes = SplitList(cl.flags["eval_return_nodes"]),
                     .trace_options = options};
  std::string optimize =
      cl.flags.count("optimize") ? cl.flags["optimize"]
                                 : (cl.command == "codegen" || cl.command == "graph" ? "inference"
                                                                                     : "none");
  if (optimize != "none" && optimize != "inference") {
    return Fail(kBadUsage, absl::StrCat("--optimize must be inference or none, not '", optimize, "'"));
  }
  std::string channels_last = cl.flags.count("channels_last_outputs") ? cl.flags["channels_last_outputs"] : "false";
  if (channels_last != "true" && channels_last != "false") {
    return Fail(kBadUsage, "--channels_last_outputs must be true or false");
  }
  spec.optimize_for_inference = optimize == "inference";
  if (cl.command == "extract" && cl.flags["out"].empty()) {
    return Fail(kBadUsage, "extract needs --out=EXTRACTOR.pt");
  }
  if (cl.command == "codegen") {
    for (const char* required : {"return_nodes", "class_name", "namespace", "out_dir"}) {
      if (cl.flags[required].empty()) {
        return Fail(kBadUsage, absl::StrCat("codegen needs --", required));
      }
    }
  }
  if (cl.command == "check") {
    if (cl.flags["return_nodes"].empty()) return Fail(kBadUsage, "check needs --return_nodes");
    if (cl.flags["input_shape"].empty()) cl.flags["input_shape"] = "1,3,224,224";
  }
  std::vector<int64_t> shape;
  if (cl.command == "run" || cl.command == "check" ||
      (cl.command == "codegen" && !cl.flags["input_shape"].empty())) {
    bool bad_shape = false;
    for (absl::string_view d : absl::StrSplit(cl.flags["input_shape"], ',', absl::SkipEmpty())) {
      int64_t size;
      bad_shape = bad_shape || !absl::SimpleAtoi(d, &size) || size <= 0;
      if (!bad_shape) shape.push_back(size);
    }
    if (bad_shape || shape.empty()) {
      return Fail(kBadUsage, absl::StrCat(cl.command,
                                          " needs --input_shape=N,C,H,W with positive sizes"));
    }
    if (cl.flags.count("threads")) {
      int threads;
      if (!absl::SimpleAtoi(cl.flags["threads"], &threads) || threads <= 0) {
        return Fail(kBadUsage, "--threads must be a positive integer");
      }
      at::set_num_threads(threads);
    }
  }

  // graph --print_after: the pipeline's pass names are known before the model is.
  PipelineSpec pipeline{.return_nodes = spec.return_nodes,
                        .trace_options = options,
                        .mode = mode,
                        .optimize = optimize == "inference" ? CppOptimization::kInference
                                                            : CppOptimization::kNone};
  if (cl.command == "graph" && cl.flags.count("print_after")) {
    std::string backend = cl.flags.count("backend") ? cl.flags["backend"] : "torchscript";
    if (backend != "torchscript" && backend != "cpp") {
      return Fail(kBadUsage, absl::StrCat("--backend must be torchscript or cpp, not '", backend, "'"));
    }
    if (backend == "cpp") pipeline.backend = PipelineSpec::Backend::kCpp;
    std::vector<std::string> passes = PipelinePassNames(pipeline);
    const std::string& pass = cl.flags["print_after"];
    if (pass == "list") {
      for (const std::string& name : passes) std::cout << name << "\n";
      return kOk;
    }
    if (std::find(passes.begin(), passes.end(), pass) == passes.end()) {
      return Fail(kBadUsage, absl::StrCat("unknown pass '", pass, "' for --print_after; passes: ",
                                          absl::StrJoin(passes, ", ")));
    }
    if (spec.return_nodes.empty()) {
      return Fail(kBadUsage, "graph --print_after needs --return_nodes (the passes prune to them)");
    }
  }

  for (const std::string& library : SplitList(cl.flags["load_library"])) {
    absl::Status loaded = LoadOperatorLibrary(library);
    if (!loaded.ok()) return Fail(kBadInput, loaded.message());
  }
  absl::StatusOr<torch::jit::Module> model = LoadModel(cl.model);
  if (!model.ok()) return Fail(kBadInput, model.status().message());

  if (cl.command == "extract") {
    absl::StatusOr<torch::jit::Module> extractor = CreateFeatureExtractor(*model, spec);
    if (!extractor.ok()) return Fail(kBadInput, extractor.status().message());
    try {
      extractor->save(cl.flags["out"]);
    } catch (const c10::Error& e) {
      return Fail(kBadInput, absl::StrCat("cannot write '", cl.flags["out"], "': ",
                                          e.what_without_backtrace()));
    }
    return kOk;
  }
  if (cl.command == "run") return RunModel(*model, spec, shape, cl.flags["save"]);
  if (cl.command == "check") return CheckModel(*model, spec, shape);
  if (cl.command == "codegen") {
    std::string model_file = cl.model.substr(cl.model.find_last_of('/') + 1);
    absl::StatusOr<CppExtractorFiles> files = GenerateCppExtractor(
        *model, {.return_nodes = spec.return_nodes,
                 .trace_options = options,
                 .mode = mode,
                 .class_name = cl.flags["class_name"],
                 .namespace_name = cl.flags["namespace"],
                 .model_file = model_file,
                 .stem = cl.flags["stem"],
                 .input_shape = shape,
                 .optimize = optimize == "inference" ? CppOptimization::kInference
                                                     : CppOptimization::kNone,
                 .channels_last_outputs = channels_last == "true"});
    if (!files.ok()) return Fail(kBadInput, files.status().message());
    std::string dir = cl.flags["out_dir"];
    auto write = [&](const std::string& ext, const char* data, size_t size) {
      std::string path = absl::StrCat(dir, "/", files->stem, ext);
      std::ofstream out(path, std::ios::binary);
      out.write(data, static_cast<std::streamsize>(size));
      return out.good() ? std::string() : path;
    };
    for (std::string failed : {write(".h", files->header.data(), files->header.size()),
                               write(".cc", files->source.data(), files->source.size()),
                               write(".weights", files->weights.data(), files->weights.size()),
                               write(".json", files->manifest.data(), files->manifest.size())}) {
      if (!failed.empty()) return Fail(kBadInput, absl::StrCat("cannot write '", failed, "'"));
    }
    return kOk;
  }

  if (cl.command == "graph" && cl.flags.count("print_after")) {
    absl::StatusOr<std::string> text = GraphAfterPass(*model, pipeline, cl.flags["print_after"]);
    if (!text.ok()) return Fail(kBadInput, text.status().message());
    std::cout << *text;
    return kOk;
  }
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
    std::cout << NodeNamesToJson(*names) << "\n";
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
    return featx::Fail(featx::kBadInput, featx::DescribeLibTorchError(e));
  }
}
