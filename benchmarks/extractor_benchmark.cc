// The same feature extractor three ways, measured in one run at 1 thread:
//   Generated:   the C++ that cc_feature_extractor generates;
//   TorchScript: the module CreateFeatureExtractor returns, run by LibTorch's
//                interpreter;
//   Optimized:   that module after torch::jit::freeze and
//                optimize_for_inference (BatchNorm folded into convolutions,
//                oneDNN layouts), LibTorch's fastest CPU path.
// Compare the rows of one run: the machine is noisy, ratios within a run are
// what is meaningful.
//
//   ./bazelw run --config=bench //benchmarks:extractor_benchmark

#include <iostream>
#include <string>
#include <vector>

#include "ATen/Parallel.h"
#include "benchmark/benchmark.h"
#include "benchmarks/mobilenet_v3_features.h"
#include "benchmarks/resnet18_layer3.h"
#include "codegen/runfiles.h"
#include "featx.h"
#include "torch/csrc/jit/passes/freeze_module.h"
#include "torch/csrc/jit/passes/frozen_graph_optimizations.h"
#include "torch/script.h"

namespace {

const char* argv0 = nullptr;

std::string Runfile(const std::string& path) {
  std::string found = featx::FindRunfile("featx/" + path, argv0);
  if (found.empty()) {
    std::cerr << "extractor_benchmark: cannot find " << path << "\n";
    std::exit(1);
  }
  return found;
}

torch::jit::Module Extractor(const std::string& model, const std::vector<std::string>& nodes,
                             bool optimized) {
  absl::StatusOr<torch::jit::Module> m = featx::LoadModel(Runfile("fixtures/" + model));
  absl::StatusOr<torch::jit::Module> e =
      m.ok() ? featx::CreateFeatureExtractor(*m, {.return_nodes = nodes}) : m.status();
  if (!e.ok()) {
    std::cerr << "extractor_benchmark: " << e.status().message() << "\n";
    std::exit(1);
  }
  e->eval();
  if (!optimized) return *e;
  torch::jit::Module frozen = torch::jit::freeze(*e);
  return torch::jit::optimize_for_inference(frozen);
}

template <typename Generated>
void RunGenerated(benchmark::State& state, const char* stem) {
  Generated extractor = Generated::Load(Runfile("benchmarks/" + std::string(stem) + ".weights"));
  at::Tensor x = torch::randn({1, 3, 224, 224});
  for (auto _ : state) benchmark::DoNotOptimize(extractor(x));
}

void BM_Generated_ResNet18(benchmark::State& state, const char* stem) {
  RunGenerated<bench::ResNet18Layer3>(state, stem);
}

void BM_Generated_MobileNetV3(benchmark::State& state, const char* stem) {
  RunGenerated<bench::MobileNetV3Features>(state, stem);
}

void BM_TorchScript(benchmark::State& state, const char* model, std::vector<std::string> nodes,
                    bool optimized) {
  torch::jit::Module extractor = Extractor(model, nodes, optimized);
  at::Tensor x = torch::randn({1, 3, 224, 224});
  c10::InferenceMode guard;
  for (int i = 0; i < 3; ++i) extractor.forward({x});  // profiling runs
  for (auto _ : state) benchmark::DoNotOptimize(extractor.forward({x}));
}

BENCHMARK_CAPTURE(BM_Generated_ResNet18, resnet18, "resnet18_layer3")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TorchScript, resnet18, "resnet18.pt",
                  std::vector<std::string>{"layer1", "layer3"}, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TorchScript, resnet18_optimized, "resnet18.pt",
                  std::vector<std::string>{"layer1", "layer3"}, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Generated_MobileNetV3, mobilenet_v3, "mobilenet_v3_features")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TorchScript, mobilenet_v3, "mobilenet_v3_large.pt",
                  std::vector<std::string>{"features.6", "features.12"}, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TorchScript, mobilenet_v3_optimized, "mobilenet_v3_large.pt",
                  std::vector<std::string>{"features.6", "features.12"}, true)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  argv0 = argv[0];
  at::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
