#include "corpus/corpus_lib.h"

#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "ATen/ATen.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace featx {
namespace corpus {
namespace {

constexpr char kCorpusPath[] = "corpus/corpus.txt";
constexpr char kKnownFailuresPath[] = "corpus/known_failures.txt";
constexpr double kTolerance = 1e-5;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing " << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// model -> check -> reason.
const std::map<std::string, std::map<std::string, std::string>>& KnownFailures() {
  static const auto* failures = [] {
    auto* f = new std::map<std::string, std::map<std::string, std::string>>;
    for (const std::string& line : Lines(kKnownFailuresPath)) {
      std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 2));
      EXPECT_EQ(fields.size(), 3) << "bad line in " << kKnownFailuresPath << ": " << line;
      if (fields.size() == 3) (*f)[fields[0]][fields[1]] = fields[2];
    }
    return f;
  }();
  return *failures;
}

}  // namespace

void PrintTo(const CorpusModel& model, std::ostream* os) { *os << model.name; }

std::vector<CorpusModel> ReadCorpus() {
  // <name> TAB <inputs> TAB <leaf,leaf> TAB <set0 nodes> [TAB <set1 nodes> ...]
  std::vector<CorpusModel> models;
  for (const std::string& line : Lines(kCorpusPath)) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    EXPECT_GE(fields.size(), 4) << "bad line in " << kCorpusPath << ": " << line;
    if (fields.size() < 4) continue;
    CorpusModel m{.name = fields[0], .inputs = std::stoi(fields[1])};
    m.leaf_modules = absl::StrSplit(fields[2], ',', absl::SkipEmpty());
    for (size_t i = 3; i < fields.size(); ++i) {
      m.sets.push_back(absl::StrSplit(fields[i], ','));
    }
    models.push_back(std::move(m));
  }
  return models;
}

std::string KeyOf(const std::string& entry) {
  size_t colon = entry.find(':');
  return colon == std::string::npos ? entry : entry.substr(colon + 1);
}

std::optional<std::string> KnownFailure(const std::string& model, const std::string& check) {
  auto m = KnownFailures().find(model);
  if (m == KnownFailures().end()) return std::nullopt;
  auto c = m->second.find(check);
  if (c == m->second.end()) return std::nullopt;
  return c->second;
}

std::vector<std::pair<std::string, std::string>> KnownFailureKeys() {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& [model, checks] : KnownFailures()) {
    for (const auto& [check, reason] : checks) keys.emplace_back(model, check);
  }
  return keys;
}

Reference ReadReference(const std::string& model) {
  return ReadTensorDict(absl::StrCat("fixtures/corpus/", model, "_ref.pt"));
}

std::vector<c10::IValue> Inputs(const Reference& ref, const CorpusModel& model) {
  std::vector<c10::IValue> inputs;
  for (int i = 0; i < model.inputs; ++i) {
    at::Tensor x = Lookup(ref, absl::StrCat("input", i));
    EXPECT_TRUE(x.defined()) << model.name << ": reference has no input" << i;
    inputs.emplace_back(x);
  }
  return inputs;
}

TorchvisionNames ReadTorchvisionNames(const std::string& model) {
  TorchvisionNames names;
  for (const std::string& line : Lines(absl::StrCat("fixtures/corpus/", model, "_names.txt"))) {
    std::pair<std::string, std::string> mode_name = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    if (mode_name.first == "train") {
      names.train.push_back(mode_name.second);
    } else if (mode_name.first == "eval") {
      names.eval.push_back(mode_name.second);
    } else if (mode_name.first == "error") {
      names.fx_error = mode_name.second;
    } else {
      ADD_FAILURE() << model << "_names.txt: bad line " << line;
    }
  }
  return names;
}

::testing::AssertionResult AllClose(const at::Tensor& actual, const at::Tensor& expected) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor";
  }
  if (actual.sizes() != expected.sizes() || actual.scalar_type() != expected.scalar_type()) {
    std::ostringstream msg;
    msg << "shape/dtype " << actual.sizes() << " " << actual.scalar_type() << ", expected "
        << expected.sizes() << " " << expected.scalar_type();
    return ::testing::AssertionFailure() << msg.str();
  }
  at::Tensor a = actual.detach().to(at::kDouble);
  at::Tensor e = expected.detach().to(at::kDouble);
  double max_diff = a.numel() == 0 ? 0 : (a - e).abs().max().item<double>();
  double scale = e.numel() == 0 ? 0 : e.abs().max().item<double>();
  bool close = a.allclose(e, kTolerance, kTolerance);
  bool scaled_close = scale == 0 || (a / scale).allclose(e / scale, kTolerance, kTolerance);
  if (close && scaled_close) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max abs diff " << max_diff << " (reference max abs " << scale << ", relative "
         << (scale == 0 ? 0 : max_diff / scale) << ")";
}

namespace {

// The same keys in the same order, then `same` on each pair of tensors.
::testing::AssertionResult EachFeature(
    const c10::Dict<std::string, at::Tensor>& actual,
    const c10::Dict<std::string, at::Tensor>& expected,
    const std::function<::testing::AssertionResult(const at::Tensor&, const at::Tensor&)>& same) {
  std::vector<std::string> actual_keys;
  std::vector<std::string> expected_keys;
  for (const auto& kv : actual) actual_keys.push_back(kv.key());
  for (const auto& kv : expected) expected_keys.push_back(kv.key());
  if (actual_keys != expected_keys) {
    return ::testing::AssertionFailure()
           << "keys [" << absl::StrJoin(actual_keys, ", ") << "], expected ["
           << absl::StrJoin(expected_keys, ", ") << "]";
  }
  for (const auto& kv : expected) {
    ::testing::AssertionResult result = same(actual.at(kv.key()), kv.value());
    if (!result)
      return ::testing::AssertionFailure() << "'" << kv.key() << "': " << result.message();
  }
  return ::testing::AssertionSuccess();
}

// Every element of `actual` within `fraction` of max |expected|.
::testing::AssertionResult CloseToMagnitude(const at::Tensor& actual, const at::Tensor& expected,
                                            double fraction) {
  if (!actual.defined() || actual.sizes() != expected.sizes() ||
      actual.scalar_type() != expected.scalar_type()) {
    return AllClose(actual, expected);  // its message names the shapes and dtypes
  }
  if (expected.numel() == 0) return ::testing::AssertionSuccess();
  at::Tensor a = actual.detach().to(at::kDouble);
  at::Tensor e = expected.detach().to(at::kDouble);
  double max_diff = (a - e).abs().max().item<double>();
  double scale = e.abs().max().item<double>();
  if (max_diff <= fraction * scale) return ::testing::AssertionSuccess();  // false for NaN
  return ::testing::AssertionFailure()
         << "max abs diff " << max_diff << " > " << fraction << " x magnitude " << scale;
}

}  // namespace

::testing::AssertionResult SameFeatures(const c10::Dict<std::string, at::Tensor>& actual,
                                        const c10::Dict<std::string, at::Tensor>& expected) {
  return EachFeature(actual, expected, AllClose);
}

::testing::AssertionResult SameFeaturesToMagnitude(
    const c10::Dict<std::string, at::Tensor>& actual,
    const c10::Dict<std::string, at::Tensor>& expected, double fraction) {
  return EachFeature(actual, expected, [fraction](const at::Tensor& a, const at::Tensor& e) {
    return CloseToMagnitude(a, e, fraction);
  });
}

}  // namespace corpus
}  // namespace featx
