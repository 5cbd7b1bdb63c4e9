// tooling_benchmark: how long featx's own steps take (issue 9, item 12).
//
// For the synthetic chains of 1k, 3k and 10k blocks (//fixtures:chain_N:
// Linear(8, 8) -> ReLU -> residual add, 3N + 2 nodes) and resnet50, each
// step a user pays for, timed on its own where it can be:
//
//   BM_Trace        featx::Trace, eval mode (tracing the TorchScript graph)
//   BM_Name         featx::NameNodes on a graph traced outside the timing
//   BM_Prune        featx::PruneToOutputs on a named graph made outside the
//                   timing, for one return node halfway through the model
//   BM_GetGraphNodeNames   the API call: trace and name, train and eval
//   BM_CreateFeatureExtractor  the API call: trace, name, prune, and build the
//                   TorchScript module with its parameters
//   BM_GenerateCpp  the API call: trace, name, prune, emit C++ (exact code) and
//                   write the weights into memory
//
// The API calls include tracing; the step times show where the time goes.
// Loading a model is not timed (chain_10000.pt takes seconds to load).
//
//   ./bazelw run --config=bench //benchmarks:tooling_benchmark

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ATen/Parallel.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "featx.h"
#include "graph/graph.h"
#include "naming/naming.h"
#include "pruning/pruning.h"
#include "tracer/tracer.h"

namespace featx {
namespace {

struct Model {
  std::string name;         // "chain_1000"
  std::string file;         // under fixtures/
  std::string return_node;  // a node halfway through the model
};

const std::vector<Model>& Models() {
  static const auto* models = new std::vector<Model>{
      {"chain_1000", "chain_1000.pt", "blocks.500"},
      {"chain_3000", "chain_3000.pt", "blocks.1500"},
      {"chain_10000", "chain_10000.pt", "blocks.5000"},
      {"resnet50", "resnet50_bn.pt", "layer2"},
  };
  return *models;
}

// Where the fixtures are: the runfiles tree of this binary. `bazel run` starts
// in it; otherwise (running bazel-bin/... directly) it is next to argv[0].
std::string& FixtureDir() {
  static std::string dir = "fixtures";
  return dir;
}

// The loaded model, loaded on first use and kept.
const absl::StatusOr<torch::jit::Module>& Loaded(const Model& m) {
  static auto* models = new std::map<std::string, absl::StatusOr<torch::jit::Module>>();
  auto it = models->find(m.name);
  if (it == models->end()) {
    it = models->emplace(m.name, LoadModel(absl::StrCat(FixtureDir(), "/", m.file))).first;
  }
  return it->second;
}

// Ends the run with `status`'s message; returns whether it was ok.
bool OkOrSkip(benchmark::State& state, const absl::Status& status) {
  if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
  return status.ok();
}

absl::StatusOr<std::unique_ptr<Graph>> TracedAndNamed(const torch::jit::Module& model) {
  absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(model, Mode::kEval, TraceOptions{});
  if (graph.ok()) NameNodes(**graph);
  return graph;
}

// The top-level node `query` selects: the node of that name, or the last one
// whose name starts with "<query>." (a truncated name, as the API resolves it).
Node* Select(const Graph& graph, const std::string& query) {
  Node* found = nullptr;
  for (const auto& n : graph.nodes()) {
    if (n->name() == query || n->name().rfind(query + ".", 0) == 0) found = n.get();
  }
  return found;
}

void SetCounters(benchmark::State& state, size_t nodes) {
  state.counters["nodes"] = static_cast<double>(nodes);
  state.counters["nodes/s"] =
      benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Trace(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  size_t nodes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
    if (!OkOrSkip(state, graph.status())) return;
    nodes = (*graph)->size();
    benchmark::DoNotOptimize(graph);
  }
  SetCounters(state, nodes);
}

void BM_Name(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  size_t nodes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
    if (!OkOrSkip(state, graph.status())) return;
    state.ResumeTiming();
    std::vector<std::string> names = NameNodes(**graph);
    benchmark::DoNotOptimize(names);
    state.PauseTiming();
    nodes = (*graph)->size();
    names.clear();
    graph->reset();
    state.ResumeTiming();
  }
  SetCounters(state, nodes);
}

void BM_Prune(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  size_t nodes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<Graph>> graph = TracedAndNamed(*model);
    if (!OkOrSkip(state, graph.status())) return;
    nodes = (*graph)->size();
    Node* output = Select(**graph, m.return_node);
    if (output == nullptr) {
      state.SkipWithError(("no node " + m.return_node).c_str());
      return;
    }
    state.ResumeTiming();
    absl::StatusOr<PruneResult> pruned = PruneToOutputs(**graph, {output});
    if (!OkOrSkip(state, pruned.status())) return;
    state.PauseTiming();
    graph->reset();
    state.ResumeTiming();
  }
  SetCounters(state, nodes);
}

void BM_GetGraphNodeNames(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  size_t nodes = 0;
  for (auto _ : state) {
    absl::StatusOr<NodeNames> names = GetGraphNodeNames(*model, {});
    if (!OkOrSkip(state, names.status())) return;
    nodes = names->eval.size();
  }
  SetCounters(state, nodes);
}

void BM_CreateFeatureExtractor(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  for (auto _ : state) {
    absl::StatusOr<torch::jit::Module> extractor =
        CreateFeatureExtractor(*model, {.return_nodes = {m.return_node}});
    if (!OkOrSkip(state, extractor.status())) return;
  }
}

void BM_GenerateCpp(benchmark::State& state, const Model& m) {
  const absl::StatusOr<torch::jit::Module>& model = Loaded(m);
  if (!OkOrSkip(state, model.status())) return;
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<CppExtractorFiles> files =
        GenerateCppExtractor(*model, {.return_nodes = {m.return_node},
                                      .class_name = "ChainFeatures",
                                      .namespace_name = "bench",
                                      .model_file = m.file,
                                      .optimize = CppOptimization::kNone});
    if (!OkOrSkip(state, files.status())) return;
    bytes = files->header.size() + files->source.size();
  }
  state.counters["source_bytes"] = static_cast<double>(bytes);
}

void RegisterAll() {
  using Fn = void (*)(benchmark::State&, const Model&);
  const std::vector<std::pair<const char*, Fn>> steps = {
      {"BM_Trace", BM_Trace},
      {"BM_Name", BM_Name},
      {"BM_Prune", BM_Prune},
      {"BM_GetGraphNodeNames", BM_GetGraphNodeNames},
      {"BM_CreateFeatureExtractor", BM_CreateFeatureExtractor},
      {"BM_GenerateCpp", BM_GenerateCpp},
  };
  for (const auto& [name, fn] : steps) {
    for (const Model& m : Models()) {
      benchmark::RegisterBenchmark(absl::StrCat(name, "/", m.name).c_str(), fn, m)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace featx

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  // Outside `bazel run`, look in the runfiles tree next to the binary.
  if (!std::ifstream("fixtures/chain_1000.pt").good()) {
    featx::FixtureDir() = absl::StrCat(argv[0], ".runfiles/featx/fixtures");
  }
  for (const featx::Model& m : featx::Models()) {
    std::string path = absl::StrCat(featx::FixtureDir(), "/", m.file);
    if (!std::ifstream(path).good()) {
      std::fprintf(stderr,
                   "tooling_benchmark: cannot find %s; run it with "
                   "./bazelw run --config=bench //benchmarks:tooling_benchmark\n",
                   path.c_str());
      return 1;
    }
  }
  // One thread, so that timings do not depend on the machine's other load.
  at::set_num_threads(1);
  featx::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
