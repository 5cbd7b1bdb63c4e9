#include "reliability/testing.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "ATen/ATen.h"
#include "ATen/CPUGeneratorImpl.h"
#include "ATen/core/grad_mode.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "featx.h"
#include "gtest/gtest.h"
#include "torch/csrc/jit/api/function_impl.h"

namespace featx::reliability {

torch::jit::Module LoadFixture(const std::string& name) {
  absl::StatusOr<torch::jit::Module> m = featx::LoadModel("fixtures/" + name);
  EXPECT_TRUE(m.ok()) << name << ": " << m.status();
  return m.ok() ? *m : torch::jit::Module();
}

Features RunTorchScript(torch::jit::Module& extractor, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  Features out;
  for (const auto& item : extractor.forward({x}).toGenericDict()) {
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

at::Tensor Input(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randn(shape, gen);
}

bool BitIdentical(const Features& a, const Features& b, std::string* why) {
  if (a.size() != b.size()) {
    *why = absl::StrCat(a.size(), " vs ", b.size(), " outputs");
    return false;
  }
  for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
    if (x->first != y->first) {
      *why = absl::StrCat("key ", x->first, " vs ", y->first);
      return false;
    }
    const at::Tensor& s = x->second;
    const at::Tensor& t = y->second;
    if (s.scalar_type() != t.scalar_type() || !s.sizes().equals(t.sizes())) {
      *why = absl::StrCat(x->first, ": dtype or shape differs");
      return false;
    }
    // Bit for bit: compare the bytes of contiguous copies (equal() would call
    // -0.0 == 0.0 and NaN != NaN).
    at::Tensor cs = s.contiguous(), ct = t.contiguous();
    if (std::memcmp(cs.data_ptr(), ct.data_ptr(), cs.nbytes()) != 0) {
      *why = absl::StrCat(x->first, ": values differ, max |diff| ",
                          (s.to(at::kDouble) - t.to(at::kDouble)).abs().max().item<double>());
      return false;
    }
  }
  return true;
}

double MaxAbsDiff(const Features& a, const Features& b, double* scale) {
  double diff = 0, big = 0;
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
    if (x->first != y->first || !x->second.sizes().equals(y->second.sizes()) ||
        x->second.scalar_type() != y->second.scalar_type()) {
      return std::numeric_limits<double>::infinity();
    }
    at::Tensor s = x->second.to(at::kDouble), t = y->second.to(at::kDouble);
    diff = std::max(diff, (s - t).abs().max().item<double>());
    big = std::max(big, t.abs().max().item<double>());
  }
  if (scale != nullptr) *scale = big;
  return diff;
}

namespace {

void Walk(const torch::jit::Module& m, const std::string& prefix, ModuleSnapshot& s) {
  s.training.emplace_back(prefix.empty() ? "<root>" : prefix, m.is_training());
  const c10::ClassTypePtr& type = m.type();
  std::vector<std::string> methods;
  for (const torch::jit::Function* f : type->methods()) {
    std::string graph = f->isGraphFunction() ? torch::jit::toGraphFunction(*f).graph()->toString()
                                             : "<not a graph>";
    methods.push_back(absl::StrCat(f->name(), ":\n", graph));
  }
  s.other.push_back(absl::StrCat(prefix, " type ", type->repr_str(), " with ",
                                 type->numAttributes(), " attributes, ", type->numConstants(),
                                 " constants; methods:\n", absl::StrJoin(methods, "\n")));
  for (size_t slot = 0; slot < type->numAttributes(); ++slot) {
    std::string path =
        absl::StrCat(prefix, prefix.empty() ? "" : ".", type->getAttributeName(slot));
    c10::IValue v = m._ivalue()->getSlot(slot);
    if (v.isModule()) {
      Walk(v.toModule(), path, s);
    } else if (v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      TensorState ts;
      ts.path = path;
      ts.is_parameter = type->is_parameter(slot);
      ts.impl = t.unsafeGetTensorImpl();
      ts.data = t.defined() ? t.data_ptr() : nullptr;
      if (t.defined()) {
        ts.dtype = t.scalar_type();
        ts.sizes = t.sizes().vec();
        ts.strides = t.strides().vec();
        ts.requires_grad = t.requires_grad();
        ts.version = t._version();
        ts.value = t.detach().clone();
      }
      s.tensors.push_back(std::move(ts));
    } else {
      std::ostringstream text;
      if (v.isObject()) {
        text << "object of " << v.type()->repr_str();
      } else {
        text << v;
      }
      s.other.push_back(absl::StrCat(path, " = ", text.str()));
    }
  }
}

}  // namespace

ModuleSnapshot Snapshot(const torch::jit::Module& model) {
  ModuleSnapshot s;
  Walk(model, "", s);
  return s;
}

std::vector<std::string> Differences(const ModuleSnapshot& before, const ModuleSnapshot& after) {
  std::vector<std::string> d;
  if (before.training != after.training) {
    for (size_t i = 0; i < std::min(before.training.size(), after.training.size()); ++i) {
      if (before.training[i] != after.training[i]) {
        d.push_back(absl::StrCat("training flag of ", before.training[i].first, ": ",
                                 before.training[i].second, " -> ", after.training[i].second));
      }
    }
    if (before.training.size() != after.training.size()) d.push_back("module count changed");
  }
  if (before.other != after.other) {
    for (size_t i = 0; i < std::min(before.other.size(), after.other.size()); ++i) {
      if (before.other[i] != after.other[i]) {
        d.push_back(absl::StrCat("changed: ", before.other[i].substr(0, 200), " -> ",
                                 after.other[i].substr(0, 200)));
      }
    }
    if (before.other.size() != after.other.size()) d.push_back("attribute count changed");
  }
  if (before.tensors.size() != after.tensors.size()) {
    d.push_back("tensor count changed");
    return d;
  }
  for (size_t i = 0; i < before.tensors.size(); ++i) {
    const TensorState& b = before.tensors[i];
    const TensorState& a = after.tensors[i];
    std::string p = b.path;
    if (a.path != b.path) d.push_back(absl::StrCat(p, " renamed to ", a.path));
    if (a.is_parameter != b.is_parameter) d.push_back(p + ": parameter/buffer kind changed");
    if (a.impl != b.impl) d.push_back(p + ": replaced by another tensor");
    if (a.data != b.data) d.push_back(p + ": storage replaced");
    if (a.dtype != b.dtype) d.push_back(p + ": dtype changed");
    if (a.sizes != b.sizes || a.strides != b.strides) d.push_back(p + ": shape or strides changed");
    if (a.requires_grad != b.requires_grad) d.push_back(p + ": requires_grad changed");
    if (a.version != b.version) {
      d.push_back(
          absl::StrCat(p, ": written in place (version ", b.version, " -> ", a.version, ")"));
    }
    if (a.value.defined() != b.value.defined() ||
        (b.value.defined() &&
         (b.value.nbytes() != a.value.nbytes() ||
          std::memcmp(b.value.contiguous().data_ptr(), a.value.contiguous().data_ptr(),
                      b.value.nbytes()) != 0))) {
      d.push_back(p + ": values changed");
    }
  }
  return d;
}

}  // namespace featx::reliability
