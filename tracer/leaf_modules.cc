#include "tracer/leaf_modules.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "torch/csrc/jit/api/method.h"

namespace featx {

namespace {

constexpr int kMaxSuggestions = 3;

// Levenshtein distance, two rows.
int EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<int> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

absl::string_view ShortName(absl::string_view cls) {
  size_t dot = cls.rfind('.');
  return dot == absl::string_view::npos ? cls : cls.substr(dot + 1);
}

}  // namespace

bool LeafModuleMatches(absl::string_view leaf, absl::string_view cls, absl::string_view path) {
  return leaf == path || leaf == cls ||
         (absl::StartsWith(leaf, "__torch__.") && leaf.substr(10) == cls) ||
         absl::EndsWith(cls, absl::StrCat(".", leaf)) ||
         // Python spells classes of a script's main module "__main__.X".
         (absl::StartsWith(leaf, "__main__.") && cls == leaf.substr(9));
}

absl::Status CheckTraceable(const torch::jit::Module& module, const TraceOptions& options) {
  if (!module.find_method("forward").has_value()) {
    std::vector<std::string> methods;
    for (const torch::jit::Method& m : module.get_methods()) methods.push_back(m.name());
    return absl::InvalidArgumentError(absl::StrCat(
        "the model (class ",
        std::string(ShortName(DemangleClassName(module.type()->name()->qualifiedName()))),
        ") has no forward method, which featx traces; ",
        methods.empty() ? "it has no methods"
                        : absl::StrCat("its methods: ", absl::StrJoin(methods, ", "))));
  }
  if (options.leaf_modules.empty()) return absl::OkStatus();
  // (path, demangled class) of every module, the model itself first (path "").
  std::vector<std::pair<std::string, std::string>> modules;
  for (const torch::jit::NameModule& m : module.named_modules()) {
    modules.emplace_back(m.name, DemangleClassName(m.value.type()->name()->qualifiedName()));
  }
  for (const std::string& leaf : options.leaf_modules) {
    bool found = std::any_of(modules.begin(), modules.end(), [&](const auto& m) {
      return LeafModuleMatches(leaf, m.second, m.first);
    });
    if (found) continue;
    // Closest short class names, each once; ties in order of appearance.
    std::vector<std::pair<int, std::string>> ranked;
    for (const auto& m : modules) {
      std::string name(ShortName(m.second));
      if (std::any_of(ranked.begin(), ranked.end(),
                      [&](const auto& r) { return r.second == name; })) {
        continue;
      }
      ranked.emplace_back(EditDistance(ShortName(leaf), name), name);
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    ranked.resize(std::min<size_t>(ranked.size(), kMaxSuggestions));
    return absl::NotFoundError(absl::StrCat(
        "leaf module '", leaf,
        "' matches no module class or path in the model; closest class names: ",
        absl::StrJoin(
            ranked, ", ",
            [](std::string* out, const auto& r) { absl::StrAppend(out, "'", r.second, "'"); }),
        ". Run `featx nodes MODEL.pt --format=table` to see module classes and paths"));
  }
  return absl::OkStatus();
}

}  // namespace featx
