// torchscript.h
//
// The TorchScript back end: turns pruned featx Graphs back into a new
// torch::jit::Module, like torchvision's DualGraphModule. Its forward has the
// model's inputs and returns Dict[str, Tensor]; it runs the train graph when
// its `training` flag is set and the eval graph otherwise. It holds copies of
// only the parameters, buffers and leaf submodules the graphs use, at their
// original paths and in the model's own order (named_parameters() and
// state_dict() list the original's entries, filtered, in the original order),
// so it can be saved and loaded by torch.jit.load in Python or C++.
//
// Example:
//   absl::StatusOr<torch::jit::Module> m = featx::BuildTorchScriptExtractor(
//       model, {.graph = train_graph.get(), .keys = {"feat"}},
//       {.graph = eval_graph.get(), .keys = {"feat"}});

#ifndef FEATX_CODEGEN_TORCHSCRIPT_H_
#define FEATX_CODEGEN_TORCHSCRIPT_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "torch/csrc/jit/api/module.h"

namespace featx {

// One mode's pruned graph; its output node's arguments are the returned
// values, in the order of `keys`. It is free of dead code (EliminateDeadCode
// has run, as for the C++ back end): every node is emitted.
struct ModeGraph {
  const Graph* graph = nullptr;
  std::vector<std::string> keys;
};

// Builds the extractor from graphs traced from `model`. The new module starts
// in the mode `model` is in. `model` is not changed (its compilation unit
// gains the new classes). Unimplemented names a node the back end cannot emit;
// FailedPrecondition if a graph has dead code. Safe to call from several
// threads at once, on one model too (it holds CompilationUnitMutex()).
absl::StatusOr<torch::jit::Module> BuildTorchScriptExtractor(const torch::jit::Module& model,
                                                             const ModeGraph& train,
                                                             const ModeGraph& eval);

// Held while featx adds classes and functions to a model's compilation unit
// (BuildTorchScriptExtractor; Module::clone and torch::jit::freeze do it too).
// LibTorch's CompilationUnit has no lock of its own, and every extractor of a
// model is registered in that model's unit, so two threads making extractors
// of one model would otherwise race on it.
std::mutex& CompilationUnitMutex();

}  // namespace featx

#endif  // FEATX_CODEGEN_TORCHSCRIPT_H_
