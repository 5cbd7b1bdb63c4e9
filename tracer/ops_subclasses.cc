#include "tracer/ops_subclasses.h"

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace featx {

namespace {

// torchvision 0.14. Regenerate the expected list with
// `./bazelw build //fixtures:ops_subclasses` (fixtures/list_ops_subclasses.py).
constexpr std::pair<absl::string_view, absl::string_view> kSubclasses[] = {
    {"torchvision.models.quantization.mobilenetv3.QuantizableSqueezeExcitation",
     "torchvision.ops.misc.SqueezeExcitation"},
    {"torchvision.models.regnet.SimpleStemIN", "torchvision.ops.misc.Conv2dNormActivation"},
    {"torchvision.models.vision_transformer.MLPBlock", "torchvision.ops.misc.MLP"},
};

}  // namespace

absl::string_view TorchvisionOpsBase(absl::string_view demangled_class) {
  for (const auto& [subclass, base] : kSubclasses) {
    if (subclass == demangled_class) return base;
  }
  return "";
}

std::vector<std::pair<absl::string_view, absl::string_view>> TorchvisionOpsSubclasses() {
  return {std::begin(kSubclasses), std::end(kSubclasses)};
}

}  // namespace featx
