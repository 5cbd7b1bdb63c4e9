// Feature extractors five ways, interleaved in one process on the same input
// at 1 thread:
//   a       the full model (the TorchScript file, eval mode);
//   b       featx's TorchScript extractor (CreateFeatureExtractor), run by
//           LibTorch's interpreter;
//   c       b after torch::jit::freeze + optimize_for_inference
//           (ExtractorSpec::optimize_for_inference): LibTorch's fastest CPU path;
//   d       the generated C++ (cc_feature_extractor), optimized: BatchNorm
//           folded, ReLU fused, prepacked channels_last convolutions;
//   d_none  the generated C++ with optimize = False (one ATen call per node).
// Each benchmark iteration runs every variant once, in a rotating order, and
// times each call; the counters are per-variant medians over the iterations
// (ms) and their ratios d/c, d/b, b/a, so the ratios come from the same
// minutes of a noisy machine. Before timing, every variant's outputs are
// checked against b (within 1e-4 of each feature's magnitude).
//
// BM_PeakMemory reports the peak extra memory of one call of b, c and d:
// every CPU tensor allocation and free that goes through c10's allocator
// (the hook the PyTorch profiler's profile_memory uses), summed during the
// call. Buffers that oneDNN, XNNPACK or OpenBLAS allocate themselves are not
// counted.
//
// The process re-executes itself once with OPENBLAS_NUM_THREADS=1 (Debian's
// OpenBLAS ignores at::set_num_threads) and glibc's MALLOC_TRIM_THRESHOLD_ /
// MALLOC_MMAP_THRESHOLD_ raised (otherwise freed activations go back to the OS
// and every resnet50 forward page-faults ~2,000 times), so every variant runs
// under the same conditions. At the end it prints the table of README.md.
//
//   ./bazelw run --config=bench //benchmarks:extractor_benchmark

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ATen/Parallel.h"
#include "benchmark/benchmark.h"
#include "benchmarks/mobilenet_v3_features12.h"
#include "benchmarks/mobilenet_v3_features12_exact.h"
#include "benchmarks/resnet18_layer1_layer3.h"
#include "benchmarks/resnet18_layer1_layer3_exact.h"
#include "benchmarks/resnet50_layer2.h"
#include "benchmarks/resnet50_layer2_exact.h"
#include "benchmarks/resnet50_layer4.h"
#include "benchmarks/resnet50_layer4_exact.h"
#include "benchmarks/seed_cnn_blocks.h"
#include "benchmarks/seed_cnn_blocks_exact.h"
#include "c10/core/Allocator.h"
#include "c10/util/ThreadLocalDebugInfo.h"
#include "codegen/runfiles.h"
#include "featx.h"
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

using Dict = c10::Dict<std::string, at::Tensor>;
using Run = std::function<Dict(const at::Tensor&)>;

Dict FromIValue(const c10::IValue& v) {
  Dict out;
  if (v.isGenericDict()) {
    for (const auto& item : v.toGenericDict())
      out.insert(item.key().toStringRef(), item.value().toTensor());
  } else if (v.isTensor()) {
    out.insert("out", v.toTensor());
  }
  return out;
}

Run TorchScript(torch::jit::Module module) {
  auto m = std::make_shared<torch::jit::Module>(std::move(module));
  return [m](const at::Tensor& x) { return FromIValue(m->forward({x})); };
}

template <typename Generated>
Run Gen(const std::string& stem) {
  auto g = std::make_shared<Generated>(Generated::Load(Runfile("benchmarks/" + stem + ".weights")));
  return [g](const at::Tensor& x) { return (*g)(x).ToDict(); };
}

struct Case {
  std::string name;   // "resnet50_layer2"
  std::string model;  // fixture file
  std::vector<std::string> nodes;
  int64_t size;  // input height and width
  std::function<Run()> optimized, exact;
  int iterations_batch1, iterations_batch8;
};

std::vector<Case> Cases() {
  return {
      {"seed_cnn blocks.1,blocks.3 32x32",
       "seed_cnn.pt",
       {"blocks.1", "blocks.3"},
       32,
       [] { return Gen<bench::SeedCnnBlocks>("seed_cnn_blocks"); },
       [] { return Gen<bench::SeedCnnBlocksExact>("seed_cnn_blocks_exact"); },
       300,
       100},
      {"resnet50 layer2",
       "resnet50_bn.pt",
       {"layer2"},
       224,
       [] { return Gen<bench::ResNet50Layer2>("resnet50_layer2"); },
       [] { return Gen<bench::ResNet50Layer2Exact>("resnet50_layer2_exact"); },
       25,
       6},
      {"resnet50 layer4",
       "resnet50_bn.pt",
       {"layer4"},
       224,
       [] { return Gen<bench::ResNet50Layer4>("resnet50_layer4"); },
       [] { return Gen<bench::ResNet50Layer4Exact>("resnet50_layer4_exact"); },
       15,
       4},
      {"resnet18 layer1+layer3",
       "resnet18_bn.pt",
       {"layer1", "layer3"},
       224,
       [] { return Gen<bench::ResNet18Layer1Layer3>("resnet18_layer1_layer3"); },
       [] { return Gen<bench::ResNet18Layer1Layer3Exact>("resnet18_layer1_layer3_exact"); },
       40,
       8},
      {"mobilenet_v3_large features.12",
       "mobilenet_v3_large_bn.pt",
       {"features.12"},
       224,
       [] { return Gen<bench::MobileNetV3Features12>("mobilenet_v3_features12"); },
       [] { return Gen<bench::MobileNetV3Features12Exact>("mobilenet_v3_features12_exact"); },
       60,
       15},
  };
}

struct Variants {
  std::vector<std::string> names;
  std::vector<Run> runs;
};

Variants Load(const Case& c) {
  absl::StatusOr<torch::jit::Module> model = featx::LoadModel(Runfile("fixtures/" + c.model));
  absl::StatusOr<torch::jit::Module> b =
      model.ok() ? featx::CreateFeatureExtractor(*model, {.return_nodes = c.nodes})
                 : model.status();
  absl::StatusOr<torch::jit::Module> opt =
      model.ok() ? featx::CreateFeatureExtractor(
                       *model, {.return_nodes = c.nodes, .optimize_for_inference = true})
                 : model.status();
  for (const absl::Status& s : {b.status(), opt.status()}) {
    if (!s.ok()) {
      std::cerr << "extractor_benchmark: " << s.message() << "\n";
      std::exit(1);
    }
  }
  model->eval();
  b->eval();
  return {{"a", "b", "c", "d", "d_none"},
          {TorchScript(*model), TorchScript(*b), TorchScript(*opt), c.optimized(), c.exact()}};
}

// Empty if `got` equals `want` within 1e-4 of each feature's magnitude.
std::string Compare(const Dict& got, const Dict& want) {
  if (got.size() != want.size()) return "different keys";
  for (const auto& item : want) {
    if (!got.contains(item.key())) return "missing " + item.key();
    at::Tensor g = got.at(item.key()), w = item.value();
    if (g.sizes() != w.sizes()) return "shape of " + item.key();
    double scale = w.abs().max().item<double>();
    double diff = (g - w).abs().max().item<double>();
    if (diff > 1e-4 * scale) return item.key() + ": diff " + std::to_string(diff);
  }
  return "";
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One row of the table printed at the end.
struct Row {
  std::string name;
  int64_t batch;
  std::map<std::string, double> ms;  // median per variant
  double dc_min = 0;
};
std::vector<Row>& Rows() {
  static std::vector<Row> rows;
  return rows;
}

void BM_Extractor(benchmark::State& state, const Case& c) {
  const int64_t batch = state.range(0);
  Variants v = Load(c);
  torch::manual_seed(0);
  at::Tensor x = torch::randn({batch, 3, c.size, c.size});
  c10::InferenceMode guard;
  for (int warm = 0; warm < 3; ++warm) {
    for (const Run& r : v.runs) r(x);  // profiling runs, prepacking
  }
  Dict reference = v.runs[1](x);
  for (size_t i = 2; i < v.runs.size(); ++i) {
    std::string error = Compare(v.runs[i](x), reference);
    if (error.empty()) continue;
    if (v.names[i] == "c") {
      // LibTorch's own optimization; reported, not ours to fail on (its
      // MKLDNN hardswish path differs by ~1e-3 on mobilenet_v3 here).
      std::cerr << "extractor_benchmark: " << c.name << ": c differs from b: " << error << "\n";
      continue;
    }
    state.SkipWithError(("variant " + v.names[i] + " differs from b: " + error).c_str());
    return;
  }
  std::vector<std::vector<double>> times(v.runs.size());
  size_t start = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < v.runs.size(); ++k) {
      size_t i = (start + k) % v.runs.size();
      auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(v.runs[i](x));
      times[i].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    start = (start + 1) % v.runs.size();
  }
  Row row{c.name, batch};
  for (size_t i = 0; i < v.runs.size(); ++i) {
    row.ms[v.names[i]] = Median(times[i]);
    state.counters[v.names[i] + "_ms"] = row.ms[v.names[i]];
  }
  row.dc_min = *std::min_element(times[3].begin(), times[3].end()) /
               *std::min_element(times[2].begin(), times[2].end());
  state.counters["d/c"] = row.ms["d"] / row.ms["c"];
  state.counters["d/b"] = row.ms["d"] / row.ms["b"];
  state.counters["b/a"] = row.ms["b"] / row.ms["a"];
  state.counters["d/c_min"] = row.dc_min;
  Rows().push_back(row);
}

// Current and peak bytes of CPU tensors allocated on this thread while installed.
class AllocationTracker : public c10::MemoryReportingInfoBase {
 public:
  void reportMemoryUsage(void*, int64_t size, int64_t, int64_t, c10::Device) override {
    current_ += size;
    peak_ = std::max(peak_, current_);
  }
  bool memoryProfilingEnabled() const override { return true; }
  void Reset() { current_ = peak_ = 0; }
  int64_t peak() const { return peak_; }

 private:
  int64_t current_ = 0, peak_ = 0;
};

std::map<std::string, double>& PeakMb() {
  static std::map<std::string, double> peak;
  return peak;
}

void BM_PeakMemory(benchmark::State& state, const Case& c) {
  const int64_t batch = state.range(0);
  Variants v = Load(c);
  torch::manual_seed(0);
  at::Tensor x = torch::randn({batch, 3, c.size, c.size});
  c10::InferenceMode guard;
  for (int warm = 0; warm < 3; ++warm) {
    for (const Run& r : v.runs) r(x);
  }
  auto tracker = std::make_shared<AllocationTracker>();
  for (auto _ : state) {
    for (size_t i : {1, 2, 3}) {
      c10::DebugInfoGuard track(c10::DebugInfoKind::PROFILER_STATE, tracker);
      tracker->Reset();
      benchmark::DoNotOptimize(v.runs[i](x));
      double mb = tracker->peak() / 1048576.0;
      state.counters[v.names[i] + "_peak_MB"] = mb;
      PeakMb()[v.names[i]] = mb;
    }
  }
}

void PrintTable() {
  std::printf(
      "\n| case | batch | a full | b extractor | c frozen+optimized | d generated | d "
      "optimize=none | d/c | d/c (min) | d/b | b/a |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const Row& r : Rows()) {
    std::printf("| %s | %ld | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
                r.name.c_str(), static_cast<long>(r.batch), r.ms.at("a"), r.ms.at("b"),
                r.ms.at("c"), r.ms.at("d"), r.ms.at("d_none"), r.ms.at("d") / r.ms.at("c"),
                r.dc_min, r.ms.at("d") / r.ms.at("b"), r.ms.at("b") / r.ms.at("a"));
  }
  if (!PeakMb().empty()) {
    std::printf("\nPeak extra memory of one call, resnet50 layer4, batch 8 (c10 allocator):");
    for (const auto& [name, mb] : PeakMb()) std::printf(" %s %.1f MB;", name.c_str(), mb);
    std::printf("\n");
  }
}

// Re-executes the binary once with the environment every variant needs.
void SetEnvironment(char** argv) {
  if (std::getenv("FEATX_BENCHMARK_ENV") != nullptr) return;
  setenv("FEATX_BENCHMARK_ENV", "1", 1);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  setenv("MALLOC_TRIM_THRESHOLD_", "1073741824", 1);
  setenv("MALLOC_MMAP_THRESHOLD_", "134217728", 1);
  execv("/proc/self/exe", argv);
  std::perror("extractor_benchmark: re-exec failed; timing without the environment");
}

}  // namespace

int main(int argc, char** argv) {
  SetEnvironment(argv);
  argv0 = argv[0];
  at::set_num_threads(1);
  static const std::vector<Case> cases = Cases();
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(("BM_Extractor/" + c.name).c_str(), BM_Extractor, c)
        ->Arg(1)
        ->Iterations(c.iterations_batch1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_Extractor/" + c.name).c_str(), BM_Extractor, c)
        ->Arg(8)
        ->Iterations(c.iterations_batch8)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_PeakMemory/resnet50 layer4", BM_PeakMemory, cases[2])
      ->Arg(8)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  PrintTable();
  return 0;
}
