#include "codegen/cpp_optimize.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace featx {

std::vector<std::string> OptimizedRuntimeIncludes() {
  return {"memory",
          "mutex",
          "ATen/core/dispatch/Dispatcher.h",
          "ATen/core/stack.h",
          "ATen/ops/conv2d.h",
          "ATen/ops/empty.h",
          "ATen/ops/empty_like.h"};
}

std::string PrepackedConvInit(const Conv2dCall& conv, const std::string& weight,
                              const std::string& bias) {
  auto list = [](const std::vector<int64_t>& v) {
    return absl::StrCat("{", absl::StrJoin(v, ", "), "}");
  };
  return absl::StrCat("PrepackedConv2d(", weight, ", ", bias.empty() ? "at::Tensor()" : bias, ", ",
                      list(conv.stride), ", ", list(conv.padding), ", ", list(conv.dilation), ", ",
                      conv.groups, ", /*relu=*/", conv.relu ? "true" : "false", ")");
}

}  // namespace featx
