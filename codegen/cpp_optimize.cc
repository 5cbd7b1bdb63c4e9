#include "codegen/cpp_optimize.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace featx {

std::vector<std::string> OptimizedRuntimeIncludes() {
  return {"memory", "mutex", "ATen/core/dispatch/Dispatcher.h", "ATen/core/stack.h",
          "ATen/ops/conv2d.h", "ATen/ops/empty.h", "ATen/ops/empty_like.h"};
}

std::string OptimizedRuntimeHelpers() {
  return R"cc(// The prepacked convolution operators, if this LibTorch registers them
// (called boxed: LibTorch 1.13 installs no headers for them).
struct PrepackedOps {
  c10::optional<c10::OperatorHandle> onednn_prepack, onednn_run, xnnpack_prepack, xnnpack_run;
};

[[maybe_unused]] const PrepackedOps& Ops() {
  static const PrepackedOps ops = [] {
    auto find = [](const char* name) { return c10::Dispatcher::singleton().findSchema({name, ""}); };
    return PrepackedOps{find("mkldnn_prepacked::conv2d_prepack"), find("mkldnn_prepacked::conv2d_run"),
                        find("prepacked::conv2d_clamp_prepack"), find("prepacked::conv2d_clamp_run")};
  }();
  return ops;
}

// A 2-D convolution (with an optional fused ReLU) on channels_last
// activations. At the first call with an input shape it prepacks the weights
// once for that shape: XNNPACK below 4 M multiply-adds (where oneDNN's fixed
// cost per call dominates), oneDNN otherwise; at::conv2d where neither is
// registered or accepts the convolution. Copies share the contexts; calls are
// thread-safe.
class PrepackedConv2d {
 public:
  PrepackedConv2d() = default;
  PrepackedConv2d(at::Tensor weight, at::Tensor bias, std::vector<int64_t> stride,
                  std::vector<int64_t> padding, std::vector<int64_t> dilation, int64_t groups,
                  bool relu)
      : state_(std::make_shared<State>()) {
    state_->weight = std::move(weight);
    state_->bias = std::move(bias);
    state_->stride = std::move(stride);
    state_->padding = std::move(padding);
    state_->dilation = std::move(dilation);
    state_->groups = groups;
    state_->relu = relu;
  }

  at::Tensor operator()(const at::Tensor& input) const {
    const State& s = *state_;
    if (input.dim() != 4 || input.scalar_type() != at::kFloat || !input.device().is_cpu() ||
        s.weight.scalar_type() != at::kFloat) {
      return Plain(input);
    }
    at::Tensor x = input.contiguous(at::MemoryFormat::ChannelsLast);
    Context context = Find(x);
    if (context.run == nullptr) return Plain(x);
    torch::jit::Stack stack{x, context.packed};
    context.run->callBoxed(&stack);
    return stack[0].toTensor();
  }

 private:
  struct Context {
    c10::IValue packed;
    const c10::OperatorHandle* run = nullptr;  // null: the plain path
  };
  struct State {
    at::Tensor weight, bias;
    std::vector<int64_t> stride, padding, dilation;
    int64_t groups = 1;
    bool relu = false;
    std::mutex mu;
    std::vector<std::pair<std::vector<int64_t>, Context>> contexts;  // per input shape
  };

  at::Tensor Plain(const at::Tensor& x) const {
    const State& s = *state_;
    at::Tensor y = at::conv2d(x, s.weight, s.bias, s.stride, s.padding, s.dilation, s.groups);
    return s.relu ? y.relu_() : y;
  }

  Context Find(const at::Tensor& x) const {
    State& s = *state_;
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [shape, context] : s.contexts) {
      if (x.sizes().equals(shape)) return context;
    }
    if (s.contexts.size() >= 16) s.contexts.clear();  // many input shapes: bound the memory
    s.contexts.emplace_back(x.sizes().vec(), Make(x));
    return s.contexts.back().second;
  }

  Context Make(const at::Tensor& x) const {
    const State& s = *state_;
    const PrepackedOps& ops = Ops();
    c10::IValue bias = s.bias.defined() ? c10::IValue(s.bias) : c10::IValue();
    double macs = static_cast<double>(s.weight.numel()) * x.size(0);
    for (int d = 0; d < 2; ++d) {
      int64_t k = s.dilation[d] * (s.weight.size(2 + d) - 1) + 1;
      macs *= static_cast<double>((x.size(2 + d) + 2 * s.padding[d] - k) / s.stride[d] + 1);
    }
    if (macs < 4e6 && ops.xnnpack_prepack && ops.xnnpack_run) {
      try {
        torch::jit::Stack stack{s.weight, bias, s.stride, s.padding, s.dilation, s.groups,
                                s.relu ? c10::IValue(at::Scalar(0.0)) : c10::IValue(), c10::IValue()};
        ops.xnnpack_prepack->callBoxed(&stack);
        return {stack[0], &*ops.xnnpack_run};
      } catch (const c10::Error&) {
        // XNNPACK refuses this convolution: try oneDNN.
      }
    }
    if (ops.onednn_prepack && ops.onednn_run) {
      try {
        // empty_like + copy_: .contiguous(ChannelsLast) leaves a 1x1 kernel NCHW.
        at::Tensor weight = at::empty_like(s.weight, at::MemoryFormat::ChannelsLast).copy_(s.weight);
        torch::jit::Stack stack{weight, bias, s.stride, s.padding, s.dilation, s.groups,
                                x.sizes().vec(), std::string(s.relu ? "relu" : "none")};
        ops.onednn_prepack->callBoxed(&stack);
        return {stack[0], &*ops.onednn_run};
      } catch (const c10::Error&) {
        // Not supported here: the plain path.
      }
    }
    return {};
  }

  std::shared_ptr<State> state_;
};

// A channels_last tensor as NCHW: each sample copied as the transpose of its
// [HW, C] matrix, which hits copy_'s blocked 2-D transpose (about 4x faster
// than Tensor::contiguous() on these shapes). Anything else is returned as is.
[[maybe_unused]] at::Tensor ToNchw(const at::Tensor& x) {
  if (x.dim() != 4 || x.is_contiguous() || !x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    return x;
  }
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  at::Tensor out = at::empty(x.sizes(), x.options());
  at::Tensor rows = x.permute({0, 2, 3, 1}).reshape({n, hw, c});  // a view when channels_last
  for (int64_t i = 0; i < n; ++i) out[i].view({c, hw}).copy_(rows[i].t());
  return out;
}

)cc";
}

std::string PrepackedConvInit(const Conv2dCall& conv, const std::string& weight,
                              const std::string& bias) {
  auto list = [](const std::vector<int64_t>& v) { return absl::StrCat("{", absl::StrJoin(v, ", "), "}"); };
  return absl::StrCat("PrepackedConv2d(", weight, ", ", bias.empty() ? "at::Tensor()" : bias, ", ",
                      list(conv.stride), ", ", list(conv.padding), ", ", list(conv.dilation), ", ",
                      conv.groups, ", /*relu=*/", conv.relu ? "true" : "false", ")");
}

}  // namespace featx
