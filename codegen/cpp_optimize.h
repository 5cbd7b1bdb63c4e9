// cpp_optimize.h
//
// What the C++ back end emits in optimized (eval-mode inference) code, beyond
// today's one-ATen-call-per-node form. No LibTorch here: these functions
// return C++ text.
//
// A convolution the passes in //passes left as aten::conv2d or
// featx::conv2d_relu (MatchConv2d: parameter weights, literal geometry) is
// emitted as a call of a PrepackedConv2d member, built at Load from the
// (BatchNorm-folded) weights:
//
//   // layer1.0.conv1.conv2d
//   auto layer1_0_conv1_conv2d = optimized_->layer1_0_conv1_conv2d(maxpool_max_pool2d);
//
// PrepackedConv2d (section "prepacked_conv2d" of runtime/featx_runtime.h,
// copied into the generated source) works on channels_last activations, as the measured recipe in
// shared/perf-recipe found fastest with LibTorch 1.13:
//   - weights made channels_last explicitly (empty_like(W, ChannelsLast).copy_(W);
//     .contiguous(ChannelsLast) leaves a 1x1 kernel NCHW);
//   - below 4 M multiply-adds, XNNPACK (prepacked::conv2d_clamp_prepack, ReLU
//     as output_min = 0), where oneDNN's fixed cost per call dominates;
//     otherwise oneDNN (mkldnn_prepacked::conv2d_prepack, "relu" or "none"),
//     prepacked for the input shape;
//   - both are called boxed through c10::Dispatcher (1.13 installs no headers
//     for them); contexts are made at the first call with each input shape
//     and cached; where an operator is not registered or refuses the
//     convolution, the plain at::conv2d (+ relu_) runs instead.
// Outputs go back to NCHW with ToNchw, a per-sample 2-D transpose copy (about
// 4x faster than Tensor::contiguous() here), unless the caller keeps them
// channels_last.

#ifndef FEATX_CODEGEN_CPP_OPTIMIZE_H_
#define FEATX_CODEGEN_CPP_OPTIMIZE_H_

#include <string>
#include <vector>

#include "passes/fuse_activations.h"

namespace featx {

// Headers the runtime helpers need, for the generated source's include list.
std::vector<std::string> OptimizedRuntimeIncludes();

// The runtime section (runtime.h) with PrepackedConv2d and ToNchw.
inline constexpr char kOptimizedRuntimeSection[] = "prepacked_conv2d";

// The expression that builds a PrepackedConv2d at Load from the weight and
// bias expressions (bias "" for none):
// "PrepackedConv2d(w, at::Tensor(), {1, 1}, {0, 0}, {1, 1}, 1, /*relu=*/true)".
std::string PrepackedConvInit(const Conv2dCall& conv, const std::string& weight,
                              const std::string& bias);

}  // namespace featx

#endif  // FEATX_CODEGEN_CPP_OPTIMIZE_H_
