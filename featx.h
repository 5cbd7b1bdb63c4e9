// featx.h
//
// The public API of featx: torchvision's FX feature extraction for TorchScript
// models, in C++.
//
// Example:
//   absl::StatusOr<torch::jit::Module> model = featx::LoadModel("resnet18.pt");
//   absl::StatusOr<featx::NodeNames> names = featx::GetGraphNodeNames(*model, {});
//   // names->eval == {"x", "conv1", "bn1", "relu", "maxpool", "layer1.0.conv1", ...}
//
// No exception crosses this API: LibTorch errors come back as absl::Status.

#ifndef FEATX_FEATX_H_
#define FEATX_FEATX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codegen/manifest.h"
#include "torch/csrc/jit/api/module.h"
#include "tracer/tracer.h"

namespace featx {

// Loads a TorchScript file. NotFound if the file does not exist,
// InvalidArgument if it is not a TorchScript archive (truncated, corrupt, or
// another kind of file) or calls an operator LibTorch does not know (the
// message quotes LibTorch: "Unknown builtin op: torchvision::nms"; see
// LoadOperatorLibrary).
absl::StatusOr<torch::jit::Module> LoadModel(const std::string& path);

// Loads a shared library of TorchScript operators into the process (dlopen),
// so that models calling its operators load and run: for example torchvision's
// C++ operators (torchvision::nms, roi_align), which detection models call.
// Call it before LoadModel. InvalidArgument, quoting the loader, if the file
// cannot be loaded; loading a library again is harmless. The CLI's
// --load_library=PATH calls it.
absl::Status LoadOperatorLibrary(const std::string& path);

struct NodeNames {
  // How the two lists relate, in torchvision's terms.
  enum class Difference {
    kSame,
    kEvalIsSubsequenceOfTrain,
    kTrainIsSubsequenceOfEval,
    kDifferent,
  };

  std::vector<std::string> train;
  std::vector<std::string> eval;
  Difference difference = Difference::kSame;

  // The names of one mode.
  const std::vector<std::string>& ForMode(Mode mode) const {
    return mode == Mode::kTrain ? train : eval;
  }
};

// A sentence describing `d`, as torchvision's warning words it.
std::string DescribeDifference(NodeNames::Difference d);

// What CreateFeatureExtractor should return. Give either `return_nodes`, or
// both `train_return_nodes` and `eval_return_nodes` (torchvision's rules).
// Each entry is "query" or "query:key": an exact node name, or a truncated
// one ("layer2" is the last node inside layer2); the key defaults to the query.
// "glob:PATTERN" returns every node whose name matches the shell-style
// PATTERN ("glob:layer3.*.add"), in execution order, keyed by name.
struct ExtractorSpec {
  std::vector<std::string> return_nodes;
  std::vector<std::string> train_return_nodes;
  std::vector<std::string> eval_return_nodes;
  TraceOptions trace_options;
  // Return torch::jit::optimize_for_inference(torch::jit::freeze(extractor))
  // in eval mode: BatchNorm folded, oneDNN layouts, LibTorch's fastest CPU
  // path. The result is eval-only and keeps no parameters as attributes.
  bool optimize_for_inference = false;
};

// Checks the syntax of comma-separated return_nodes entries ("layer1,layer4:final",
// as --return_nodes gives them) without a model, as CreateFeatureExtractor
// checks them first (naming/select.h's ParseReturnNodes, the one parser):
// InvalidArgument for an empty entry ("layer1,,layer2"), an empty query or key
// ("a:", ":x"), an empty part between colons ("a::b"), an empty glob pattern,
// or a key given twice ("a:x,b:x"). Whether the names exist needs the model.
absl::Status CheckReturnNodesSyntax(absl::string_view comma_separated);

// torchvision's create_feature_extractor: a new TorchScript module whose
// forward takes the model's inputs and returns Dict[str, Tensor] with the
// selected values, in the order given, computing only what they need. It
// follows its own training flag (train and eval graphs, as DualGraphModule)
// and holds copies of only the parameters and submodules it uses; `model` is
// not changed. Unlike torchvision, a returned tensor is not overwritten by a
// later in-place op (see pruning.h for what counts as one). Errors: NotFound for an unknown query
// (with the closest names), InvalidArgument for bad specs, repeated keys or non-tensor nodes. Safe
// to call from several threads at once, on one model too
// (//reliability:concurrency_test).
absl::StatusOr<torch::jit::Module> CreateFeatureExtractor(const torch::jit::Module& model,
                                                          const ExtractorSpec& spec);

// How GenerateCppExtractor's code computes (eval mode; train mode is always kNone).
enum class CppOptimization {
  // One ATen call per node, as the TorchScript interpreter runs the graph:
  // bit-identical to the TorchScript extractor.
  kNone,
  // Inference code: BatchNorm folded into the convolution weights written to
  // the weights file, ReLU fused into convolutions and adds (//passes), and
  // prepacked channels_last convolutions (codegen/cpp_optimize.h). Equal to
  // the TorchScript extractor within float rounding (1e-4 of each feature's
  // magnitude in the tests).
  kInference,
};

// What GenerateCppExtractor should generate.
struct CppExtractorSpec {
  std::vector<std::string> return_nodes;  // as in ExtractorSpec
  TraceOptions trace_options;
  Mode mode = Mode::kEval;           // the generated code runs this mode's graph
  std::string class_name;            // "ResNet18Features"
  std::string namespace_name;        // "vision"
  std::string model_file;            // for the generated files' first line: "resnet18.pt"
  std::string stem;                  // file stem; empty: SnakeCase(class_name)
  std::vector<int64_t> input_shape;  // optional: the manifest then lists shapes
  CppOptimization optimize = CppOptimization::kInference;
  // kInference: leave 4-D outputs channels_last instead of converting them
  // back to NCHW (same values and shapes, other strides).
  bool channels_last_outputs = false;
};

// The generated files' contents.
struct CppExtractorFiles {
  std::string stem;
  std::string header;         // <stem>.h
  std::string source;         // <stem>.cc
  std::vector<char> weights;  // <stem>.weights: only the needed tensors
  std::string manifest;       // <stem>.json: per output key, node, module, shape
};

// Generates standalone C++ (depending only on LibTorch) that computes the
// selected features, and the weights file it loads. The same model and spec
// give byte-identical files. Unimplemented names the node and operator the
// generator cannot emit.
absl::StatusOr<CppExtractorFiles> GenerateCppExtractor(const torch::jit::Module& model,
                                                       const CppExtractorSpec& spec);

// ---- Checking an extractor (featx check)

// Two tensors agree if they have the same shape and dtype and every element
// satisfies |got - want| <= kCheckTolerance + kCheckTolerance * |want|
// (at::allclose with atol = rtol = 1e-5; NaN equals NaN).
inline constexpr double kCheckTolerance = 1e-5;

// How one value compares with its reference.
struct ValueCheck {
  std::string key;
  double max_abs_diff = 0;  // max |got - want|
  // max |got - want| / |want| over elements with |want| > kCheckTolerance; 0 if none.
  double max_rel_diff = 0;
  bool ok = false;
  std::string problem;  // why not ok, if not just the tolerance: "shape [2, 3] vs [3, 2]"
};

struct CheckReport {
  // "forward": the model's whole traced graph, run by featx (TorchScript back
  // end, unpruned), against model.forward. A model returning a Tensor has one
  // part, "forward"; one returning a Dict[str, Tensor] or a tuple or list of
  // tensors is flattened as the extractor flattens ("forward.out",
  // "forward.0", ...) and compared per part. `forward` sums the parts up: ok
  // if all are, the largest differences, the first problem with its key.
  ValueCheck forward;
  std::vector<ValueCheck> forward_parts;
  // Per output key, in the extractor's order: its value against the same
  // node's value in that unpruned graph, cloned the moment it is computed. A
  // selected dict, tuple or list gives one entry per flattened key
  // ("key.subkey", "key.0"); it is not cloned, so a later in-place write to
  // one of its tensors shows as a mismatch.
  std::vector<ValueCheck> outputs;

  bool ok() const;
};

// Verifies, in eval mode, the extractor CreateFeatureExtractor(model, spec)
// makes, on `inputs` (featx check uses torch::manual_seed(0) and randn of the
// input shape). `model` must return a Tensor, a Dict[str, Tensor], or a tuple
// or list of tensors (None elements, such as googlenet's aux logits in eval
// mode, are skipped); the selected nodes may be any of these too. The inputs
// are not changed. Errors: those of CreateFeatureExtractor; InvalidArgument if
// running the model fails or it returns anything else.
absl::StatusOr<CheckReport> CheckExtractor(const torch::jit::Module& model,
                                           const ExtractorSpec& spec,
                                           const std::vector<c10::IValue>& inputs);

// The same for an extractor made elsewhere (a saved one, or, in tests, a
// deliberately wrong one): its keys are compared with the nodes `spec` selects.
absl::StatusOr<CheckReport> CheckExtractor(const torch::jit::Module& model,
                                           const ExtractorSpec& spec,
                                           const torch::jit::Module& extractor,
                                           const std::vector<c10::IValue>& inputs);

// The names torchvision's get_graph_node_names gives, for train and eval mode,
// in execution order. As in torchvision, buffers read directly (such as a
// relative position index) are not listed; parameters are.
absl::StatusOr<NodeNames> GetGraphNodeNames(const torch::jit::Module& model,
                                            const TraceOptions& options);

// ---- The pass pipeline (featx graph --print_after)

// Which pipeline to inspect: the passes that prune (and, for optimized C++,
// rewrite) a traced graph for a back end, listed in passes/pipeline.h.
struct PipelineSpec {
  enum class Backend {
    kTorchScript,  // CreateFeatureExtractor's
    kCpp,          // GenerateCppExtractor's, with `optimize`
  };
  std::vector<std::string> return_nodes;  // as in ExtractorSpec
  TraceOptions trace_options;
  Mode mode = Mode::kEval;
  Backend backend = Backend::kTorchScript;
  // kCpp only; as in CppExtractorSpec (kInference rewrites in eval mode only).
  CppOptimization optimize = CppOptimization::kInference;
};

// The names of the passes `spec`'s pipeline runs, in order
// ("set-outputs", "protect-outputs", "dead-code", ...).
std::vector<std::string> PipelinePassNames(const PipelineSpec& spec);

// The graph, in the text form `featx graph` prints (graph/text.h), right
// after the pass named `pass` of `spec`'s pipeline has run on `model`'s
// traced graph for `spec.return_nodes`. NotFound, listing the pipeline's
// passes, if it has no such pass; InvalidArgument if no return nodes are
// given; otherwise the errors of CreateFeatureExtractor / GenerateCppExtractor.
// An error in a later pass does not hide the graph asked for.
absl::StatusOr<std::string> GraphAfterPass(const torch::jit::Module& model,
                                           const PipelineSpec& spec, const std::string& pass);
// ---- Seeing the model (featx nodes --format=table, featx graph --format=dot)

// timm's feature_info for the extractor CreateFeatureExtractor(model, spec)
// makes, in `mode`: per output key, in the extractor's order, its node,
// module path and type, and, if `input_shape` is not empty, its dtype and
// shape from running the extractor once on randn(input_shape) with seed 0
// (and channels and stride relative to the input for a 4-d output of a 4-d
// input). A dict, tuple or list output gives one entry per flattened key
// ("fpn.0"), as the extractor returns it. The codegen manifest lists the
// same. Errors: those of CreateFeatureExtractor; InvalidArgument if the
// extractor cannot run on that input.
absl::StatusOr<std::vector<FeatureDescription>> FeatureInfo(const torch::jit::Module& model,
                                                            const ExtractorSpec& spec,
                                                            const std::vector<int64_t>& input_shape,
                                                            Mode mode = Mode::kEval);

// One node of the traced graph, as `featx nodes --format=table|json` lists it.
struct NodeDescription {
  std::string name;    // torchvision's name: "layer1.0.relu_1"
  std::string opcode;  // "placeholder", "get_attr", "call_module", "call_function", ...
  // What it computes: a leaf module's class ("Conv2d"), an operator
  // ("aten::add.Tensor") or function ("torch.nn.functional.relu"), a
  // parameter's path, an input's name.
  std::string target;
  std::string module;  // module path: a leaf module's own, else the node's scope
  std::string type;    // the traced type: "Tensor", "int", "List[Tensor]"
  // With an input shape, for a Tensor node (shape propagation):
  std::string dtype;                // "float"
  std::vector<int64_t> shape;       // [1, 64, 56, 56]
  std::optional<int64_t> channels;  // a 4-d value of a 4-d input: dim 1
  std::optional<int64_t> stride;    // ... and input height / its height
};

// Which nodes DescribeNodes lists, and whether it runs the model.
struct NodeQuery {
  TraceOptions trace_options;
  Mode mode = Mode::kEval;
  std::string filter;  // empty, or a glob every listed name must match ("layer3.*.add")
  // Empty, or an operator every listed node must compute, in lower case
  // without namespace, overload or in-place '_': "relu" matches aten::relu,
  // aten::relu_, F.relu and nn.ReLU modules; "conv2d" matches nn.Conv2d.
  std::string op;
  // Empty, or the shape of one input: the whole traced graph (TorchScript back
  // end, unpruned) runs once on randn(input_shape) with seed 0 and each
  // Tensor node gets its dtype and shape, as torch.fx's ShapeProp gives them.
  std::vector<int64_t> input_shape;
};

// The nodes GetGraphNodeNames lists for `query.mode`, in execution order,
// that match the filters. Errors: those of tracing; InvalidArgument if the
// graph cannot be run on the input (the message says why).
absl::StatusOr<std::vector<NodeDescription>> DescribeNodes(const torch::jit::Module& model,
                                                           const NodeQuery& query);

// True if `name` matches the shell-style glob `pattern`: '*' any run of
// characters (dots included), '?' one character, "[a-z]" a set.
bool MatchesGlob(absl::string_view pattern, absl::string_view name);

// The traced and named graph of `mode`, one node per line (`featx graph`).
absl::StatusOr<std::string> GraphText(const torch::jit::Module& model, Mode mode,
                                      const TraceOptions& options);

// What DrawGraph draws.
struct DrawSpec {
  TraceOptions trace_options;
  Mode mode = Mode::kEval;
  // Optional, as in ExtractorSpec: these outputs are highlighted with their
  // keys, and the nodes their extractor would not run are greyed out.
  std::vector<std::string> return_nodes;
  // Draw each module this many components deep as one box; 0: every node.
  int depth = 0;
  std::string title;  // the drawing's caption (the CLI gives the model file)
};

// The traced graph as Graphviz DOT text: nodes grouped in clusters by module
// path (see viz/dot.h). Errors: those of tracing and of selecting outputs.
absl::StatusOr<std::string> DrawGraph(const torch::jit::Module& model, const DrawSpec& spec);

}  // namespace featx

#endif  // FEATX_FEATX_H_
