// naming_benchmark: how tracing and naming scale with model depth.
//
// Each model is DeepChain(N), N blocks of Linear(8, 8) -> ReLU -> residual add
// (3N + 2 graph nodes), made by //fixtures:chain_N. torchvision's
// get_graph_node_names is quadratic in the node count; featx should be linear,
// which the BigO/RMS lines of the output show.
//
//   ./bazelw run --config=bench //benchmarks:naming_benchmark
//
// Loading a model is not measured (N=10000 takes seconds): each is loaded once
// and kept for the whole run.

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ATen/Parallel.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "featx.h"
#include "graph/graph.h"
#include "naming/naming.h"
#include "tracer/tracer.h"

namespace featx {
namespace {

constexpr int kChainSizes[] = {1000, 3000, 10000};

// Where the chain_N.pt files are: the runfiles tree of this binary. `bazel run`
// starts in it; otherwise (running bazel-bin/... directly) it is next to argv[0].
std::string& FixtureDir() {
  static std::string dir = "fixtures";
  return dir;
}

std::string ChainPath(int n) { return absl::StrCat(FixtureDir(), "/chain_", n, ".pt"); }

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

// The loaded chain of `n` blocks, loaded on first use and kept; an error if it
// cannot be loaded.
const absl::StatusOr<torch::jit::Module>& Chain(int n) {
  static auto* models = new std::map<int, absl::StatusOr<torch::jit::Module>>();
  auto it = models->find(n);
  if (it == models->end()) it = models->emplace(n, LoadModel(ChainPath(n))).first;
  return it->second;
}

// The model for this run, or null after marking the run as failed.
const torch::jit::Module* ModelOrSkip(benchmark::State& state) {
  const absl::StatusOr<torch::jit::Module>& model = Chain(static_cast<int>(state.range(0)));
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return nullptr;
  }
  return &*model;
}

void SetCounters(benchmark::State& state, size_t nodes) {
  state.SetComplexityN(state.range(0));
  state.counters["nodes"] = static_cast<double>(nodes);
  state.counters["nodes/s"] =
      benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kIsIterationInvariantRate);
}

// featx::Trace of the eval-mode graph.
void BM_Trace(benchmark::State& state) {
  const torch::jit::Module* model = ModelOrSkip(state);
  if (model == nullptr) return;
  size_t nodes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
    if (!graph.ok()) {
      state.SkipWithError(std::string(graph.status().message()).c_str());
      return;
    }
    nodes = (*graph)->size();
    benchmark::DoNotOptimize(graph);
  }
  SetCounters(state, nodes);
}

// featx::NameNodes on a graph traced once, outside the timing. NameNodes only
// overwrites names, so naming the same graph again does the same work.
void BM_NameNodes(benchmark::State& state) {
  const torch::jit::Module* model = ModelOrSkip(state);
  if (model == nullptr) return;
  absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
  if (!graph.ok()) {
    state.SkipWithError(std::string(graph.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    std::vector<std::string> names = NameNodes(**graph);
    benchmark::DoNotOptimize(names);
  }
  SetCounters(state, (*graph)->size());
}

// featx::NameNodes on a graph just traced, as GetGraphNodeNames runs it: the
// nodes are not yet in cache and their names are first allocations. Tracing
// and freeing the graph are not timed.
void BM_NameNodesFreshGraph(benchmark::State& state) {
  const torch::jit::Module* model = ModelOrSkip(state);
  if (model == nullptr) return;
  size_t nodes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
    if (!graph.ok()) {
      state.SkipWithError(std::string(graph.status().message()).c_str());
      return;
    }
    state.ResumeTiming();
    std::vector<std::string> names = NameNodes(**graph);
    benchmark::DoNotOptimize(names);
    nodes = (*graph)->size();
    state.PauseTiming();
    names.clear();
    graph->reset();
    state.ResumeTiming();
  }
  SetCounters(state, nodes);
}

// Trace then NameNodes: what one mode of GetGraphNodeNames costs.
void BM_TraceAndName(benchmark::State& state) {
  const torch::jit::Module* model = ModelOrSkip(state);
  if (model == nullptr) return;
  size_t nodes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<Graph>> graph = Trace(*model, Mode::kEval, TraceOptions{});
    if (!graph.ok()) {
      state.SkipWithError(std::string(graph.status().message()).c_str());
      return;
    }
    std::vector<std::string> names = NameNodes(**graph);
    benchmark::DoNotOptimize(names);
    nodes = (*graph)->size();
  }
  SetCounters(state, nodes);
}

BENCHMARK(BM_Trace)
    ->Arg(1000)
    ->Arg(3000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);
BENCHMARK(BM_NameNodes)
    ->Arg(1000)
    ->Arg(3000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);
BENCHMARK(BM_NameNodesFreshGraph)
    ->Arg(1000)
    ->Arg(3000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);
BENCHMARK(BM_TraceAndName)
    ->Arg(1000)
    ->Arg(3000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oN);

}  // namespace
}  // namespace featx

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  // Outside `bazel run`, look in the runfiles tree next to the binary.
  if (!featx::Readable(featx::ChainPath(featx::kChainSizes[0]))) {
    featx::FixtureDir() = absl::StrCat(argv[0], ".runfiles/featx/fixtures");
  }
  for (int n : featx::kChainSizes) {
    if (!featx::Readable(featx::ChainPath(n))) {
      std::fprintf(stderr,
                   "naming_benchmark: cannot find fixtures/chain_%d.pt; run it with "
                   "./bazelw run --config=bench //benchmarks:naming_benchmark\n",
                   n);
      return 1;
    }
  }
  // One thread, so that timings do not depend on the machine's other load.
  at::set_num_threads(1);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
