// featx_runtime.h
//
// The runtime helpers generated extractors carry: Python's semantics for
// integer division, list indexing and slicing, str.find and str.format, dict
// access, and (in optimized code) prepacked channels_last convolutions.
//
// This file is the single source of that code. It is compiled and tested on
// its own against LibTorch (//codegen/runtime:featx_runtime_test), and
// embedded into the C++ emitter at build time as a string
// (//codegen/runtime:runtime_source, a genrule). The emitter copies each
// section a generated file needs, verbatim, into that file's anonymous
// namespace, so generated code depends on LibTorch only.
//
// A section runs from a line "// featx:section <name>" to a line
// "// featx:end"; the marker lines are not copied. Sections are copied in
// file order. Text outside sections (this comment, includes, namespaces) is
// for compiling this file on its own.

#ifndef FEATX_CODEGEN_RUNTIME_FEATX_RUNTIME_H_
#define FEATX_CODEGEN_RUNTIME_FEATX_RUNTIME_H_

#include <ATen/core/Dict.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/util/Exception.h>
#include <c10/util/Optional.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace featx_runtime {
// As in a generated file: each copy is private to its translation unit.
namespace {

// featx:section floordiv
// Python's // on ints: rounds toward negative infinity.
int64_t FloorDiv(int64_t a, int64_t b) {
  TORCH_CHECK(b != 0, "integer division by zero");
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
// featx:end

// featx:section remainder
// Python's % on ints: takes the sign of the divisor.
int64_t Remainder(int64_t a, int64_t b) {
  TORCH_CHECK(b != 0, "integer modulo by zero");
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
// featx:end

// featx:section getitem
// list[i] with Python's negative indices.
template <typename T>
T GetItem(const std::vector<T>& list, int64_t i) {
  int64_t n = static_cast<int64_t>(list.size());
  TORCH_CHECK(i >= -n && i < n, "list index out of range");
  return list[i < 0 ? i + n : i];
}

// list[i] = value with Python's negative indices.
template <typename T, typename V>
void SetItem(std::vector<T>& list, int64_t i, const V& value) {
  int64_t n = static_cast<int64_t>(list.size());
  TORCH_CHECK(i >= -n && i < n, "list index out of range");
  list[i < 0 ? i + n : i] = value;
}
// featx:end

// featx:section slice
// list[start:end:step], with Python's rules for None, negative and
// out-of-range bounds and negative steps.
template <typename T>
std::vector<T> SliceList(const std::vector<T>& list, c10::optional<int64_t> start,
                         c10::optional<int64_t> end, int64_t step) {
  TORCH_CHECK(step != 0, "slice step cannot be zero");
  int64_t n = static_cast<int64_t>(list.size());
  auto bound = [&](c10::optional<int64_t> v, int64_t missing) {
    if (!v.has_value()) return missing;
    int64_t i = *v < 0 ? *v + n : *v;
    if (i < 0) return step < 0 ? int64_t{-1} : int64_t{0};
    if (i >= n) return step < 0 ? n - 1 : n;
    return i;
  };
  int64_t lo = bound(start, step < 0 ? n - 1 : 0);
  int64_t hi = bound(end, step < 0 ? -1 : n);
  std::vector<T> out;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) out.push_back(list[i]);
  return out;
}
// featx:end

// featx:section concat
template <typename T>
std::vector<T> ConcatLists(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
// featx:end

// featx:section contains
bool Contains(const std::vector<int64_t>& list, int64_t x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}
// featx:end

// featx:section allany
bool AllOf(const std::vector<bool>& v) {
  return std::all_of(v.begin(), v.end(), [](bool b) { return b; });
}
bool AnyOf(const std::vector<bool>& v) {
  return std::any_of(v.begin(), v.end(), [](bool b) { return b; });
}
// featx:end

// featx:section find
// str.find(sub, start, end).
int64_t Find(const std::string& s, const std::string& sub, int64_t start, int64_t end) {
  int64_t n = static_cast<int64_t>(s.size());
  auto bound = [n](int64_t i) { return std::min(std::max<int64_t>(i < 0 ? i + n : i, 0), n); };
  int64_t lo = bound(start), hi = bound(end);
  if (lo > hi) return -1;
  size_t at = s.substr(0, hi).find(sub, lo);
  return at == std::string::npos ? -1 : static_cast<int64_t>(at);
}
// featx:end

// featx:section dictat
// d[key], raising Python's KeyError text for a missing key.
template <typename V>
V DictAt(const c10::Dict<std::string, V>& d, const std::string& key) {
  auto it = d.find(key);
  TORCH_CHECK(it != d.end(), "KeyError: '", key, "'");
  return it->value();
}
// featx:end

// featx:section dictfrompairs
// dict(pairs): a later pair replaces an earlier one's value in place.
template <typename D, typename P>
D DictFromPairs(const std::vector<P>& pairs) {
  D d;
  for (const auto& p : pairs) d.insert_or_assign(std::get<0>(p), std::get<1>(p));
  return d;
}
// featx:end

// featx:section dictkeys
// d.keys() / d.values(), in insertion order.
template <typename V>
std::vector<std::string> DictKeys(const c10::Dict<std::string, V>& d) {
  std::vector<std::string> out;
  for (const auto& item : d) out.push_back(item.key());
  return out;
}
template <typename V>
std::vector<V> DictValues(const c10::Dict<std::string, V>& d) {
  std::vector<V> out;
  for (const auto& item : d) out.push_back(item.value());
  return out;
}
// featx:end

// featx:section listminmax
// max(list) / min(list): Python raises on an empty list.
template <typename T>
T ListMax(const std::vector<T>& v) {
  TORCH_CHECK(!v.empty(), "max() arg is an empty sequence");
  return *std::max_element(v.begin(), v.end());
}
template <typename T>
T ListMin(const std::vector<T>& v) {
  TORCH_CHECK(!v.empty(), "min() arg is an empty sequence");
  return *std::min_element(v.begin(), v.end());
}
// featx:end

// featx:section format
// str.format with positional {} fields, for error messages.
template <typename T>
std::ostream& operator<<(std::ostream& os, const std::vector<T>& v) {
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os << "]";
}
template <typename... T>
std::ostream& operator<<(std::ostream& os, const std::tuple<T...>& t) {
  os << "(";
  size_t i = 0;
  std::apply([&](const auto&... v) { ((os << (i++ ? ", " : "") << v), ...); }, t);
  return os << ")";
}
template <typename T>
std::ostream& operator<<(std::ostream& os, const c10::optional<T>& v) {
  if (v.has_value()) return os << *v;
  return os << "None";
}
template <typename... Args>
std::string Format(const std::string& pattern, const Args&... args) {
  std::ostringstream os;
  size_t pos = 0;
  auto one = [&](const auto& value) {
    size_t field = pattern.find("{}", pos);
    if (field == std::string::npos) return;
    os << pattern.substr(pos, field - pos) << value;
    pos = field + 2;
  };
  (one(args), ...);
  os << pattern.substr(pos);
  return os.str();
}
// featx:end

// featx:section prepacked_conv2d
// The prepacked convolution operators, if this LibTorch registers them
// (called boxed: LibTorch 1.13 installs no headers for them).
struct PrepackedOps {
  c10::optional<c10::OperatorHandle> onednn_prepack, onednn_run, xnnpack_prepack, xnnpack_run;
};

[[maybe_unused]] const PrepackedOps& Ops() {
  static const PrepackedOps ops = [] {
    auto find = [](const char* name) {
      return c10::Dispatcher::singleton().findSchema({name, ""});
    };
    return PrepackedOps{
        find("mkldnn_prepacked::conv2d_prepack"), find("mkldnn_prepacked::conv2d_run"),
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
        torch::jit::Stack stack{s.weight,
                                bias,
                                s.stride,
                                s.padding,
                                s.dilation,
                                s.groups,
                                s.relu ? c10::IValue(at::Scalar(0.0)) : c10::IValue(),
                                c10::IValue()};
        ops.xnnpack_prepack->callBoxed(&stack);
        return {stack[0], &*ops.xnnpack_run};
      } catch (const c10::Error&) {
        // XNNPACK refuses this convolution: try oneDNN.
      }
    }
    if (ops.onednn_prepack && ops.onednn_run) {
      try {
        // empty_like + copy_: .contiguous(ChannelsLast) leaves a 1x1 kernel NCHW.
        at::Tensor weight =
            at::empty_like(s.weight, at::MemoryFormat::ChannelsLast).copy_(s.weight);
        torch::jit::Stack stack{
            weight,     bias,     s.stride,        s.padding,
            s.dilation, s.groups, x.sizes().vec(), std::string(s.relu ? "relu" : "none")};
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
// featx:end

}  // namespace
}  // namespace featx_runtime

#endif  // FEATX_CODEGEN_RUNTIME_FEATX_RUNTIME_H_
