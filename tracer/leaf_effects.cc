#include "tracer/leaf_effects.h"

#include "absl/strings/match.h"
#include "tracer/ops_subclasses.h"

namespace featx {

namespace {

// Libraries whose leaves write their inputs only when asked to (`inplace`).
struct Library {
  LeafKind kind;
  absl::string_view prefix;
};
constexpr Library kLibraries[] = {
    {LeafKind::kModule, "torch.nn."},
    {LeafKind::kModule, "torchvision.ops."},
    {LeafKind::kFunction, "torch."},
    {LeafKind::kFunction, "torchvision."},
};

// Leaves of those libraries known to return a new tensor, never their input
// or a view of it (unless asked to work in place), by short name.
struct FreshLeaf {
  LeafKind kind;
  absl::string_view name;
};
constexpr LeafKind kM = LeafKind::kModule;
constexpr LeafKind kF = LeafKind::kFunction;
constexpr FreshLeaf kFresh[] = {
    // torch.nn and torchvision.ops modules.
    {kM, "Conv1d"},
    {kM, "Conv2d"},
    {kM, "Conv3d"},
    {kM, "ConvTranspose1d"},
    {kM, "ConvTranspose2d"},
    {kM, "ConvTranspose3d"},
    {kM, "Linear"},
    {kM, "Bilinear"},
    {kM, "BatchNorm1d"},
    {kM, "BatchNorm2d"},
    {kM, "BatchNorm3d"},
    {kM, "SyncBatchNorm"},
    {kM, "LayerNorm"},
    {kM, "GroupNorm"},
    {kM, "InstanceNorm1d"},
    {kM, "InstanceNorm2d"},
    {kM, "InstanceNorm3d"},
    {kM, "LocalResponseNorm"},
    {kM, "MaxPool1d"},
    {kM, "MaxPool2d"},
    {kM, "MaxPool3d"},
    {kM, "AvgPool1d"},
    {kM, "AvgPool2d"},
    {kM, "AvgPool3d"},
    {kM, "AdaptiveAvgPool1d"},
    {kM, "AdaptiveAvgPool2d"},
    {kM, "AdaptiveAvgPool3d"},
    {kM, "AdaptiveMaxPool1d"},
    {kM, "AdaptiveMaxPool2d"},
    {kM, "AdaptiveMaxPool3d"},
    {kM, "Embedding"},
    {kM, "EmbeddingBag"},
    {kM, "MultiheadAttention"},
    {kM, "Softmax"},
    {kM, "LogSoftmax"},
    {kM, "ReLU"},
    {kM, "ReLU6"},
    {kM, "GELU"},
    {kM, "SiLU"},
    {kM, "Hardswish"},
    {kM, "Hardsigmoid"},
    {kM, "Sigmoid"},
    {kM, "Tanh"},
    {kM, "LeakyReLU"},
    {kM, "ELU"},
    {kM, "Mish"},
    {kM, "Softplus"},
    {kM, "PReLU"},
    {kM, "Conv2dNormActivation"},
    {kM, "Conv3dNormActivation"},
    {kM, "SqueezeExcitation"},
    {kM, "MLP"},
    {kM, "FrozenBatchNorm2d"},
    // torch and torchvision functions.
    {kF, "relu"},
    {kF, "relu6"},
    {kF, "gelu"},
    {kF, "silu"},
    {kF, "hardswish"},
    {kF, "hardsigmoid"},
    {kF, "sigmoid"},
    {kF, "tanh"},
    {kF, "leaky_relu"},
    {kF, "elu"},
    {kF, "mish"},
    {kF, "softplus"},
    {kF, "softmax"},
    {kF, "log_softmax"},
    {kF, "linear"},
    {kF, "conv1d"},
    {kF, "conv2d"},
    {kF, "conv3d"},
    {kF, "batch_norm"},
    {kF, "layer_norm"},
    {kF, "group_norm"},
    {kF, "adaptive_avg_pool2d"},
    {kF, "max_pool2d"},
    {kF, "avg_pool2d"},
    {kF, "interpolate"},
    {kF, "pad"},
    {kF, "shifted_window_attention"},
    {kF, "_get_relative_position_bias"},
    {kF, "_patch_merging_pad"},
};

bool FromLibrary(LeafKind kind, absl::string_view name) {
  for (const Library& library : kLibraries) {
    if (library.kind == kind && absl::StartsWith(name, library.prefix)) return true;
  }
  return false;
}

bool KnownFresh(LeafKind kind, absl::string_view name) {
  size_t dot = name.rfind('.');
  absl::string_view short_name = dot == absl::string_view::npos ? name : name.substr(dot + 1);
  for (const FreshLeaf& leaf : kFresh) {
    if (leaf.kind == kind && leaf.name == short_name) return true;
  }
  return false;
}

}  // namespace

LeafEffects EffectsOfLeaf(LeafKind kind, absl::string_view name, bool inplace) {
  if (kind == LeafKind::kModule) {
    if (absl::string_view base = TorchvisionOpsBase(name); !base.empty()) name = base;
  }
  bool library = FromLibrary(kind, name);
  LeafEffects effects;
  if (inplace || !library) effects.mutates = {0};
  if (inplace || !library || !KnownFresh(kind, name)) effects.alias_of = 0;
  return effects;
}

}  // namespace featx
