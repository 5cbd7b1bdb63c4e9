#include "codegen/weights.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/names.h"
#include "graph/text.h"

namespace featx {

std::string WeightsFingerprint(const Graph& graph, const std::vector<std::string>& keys,
                               const std::vector<std::string>& weights, bool optimize,
                               bool channels_last_outputs) {
  std::string text = PrintGraph(graph);
  absl::StrAppend(&text, "\nkeys:", absl::StrJoin(keys, "\n"),
                  "\nweights:", absl::StrJoin(weights, "\n"), "\nversion:", kWeightsFormatVersion);
  if (optimize) absl::StrAppend(&text, "\noptimize", channels_last_outputs ? ":channels_last" : "");
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

void EmitWeightsConstants(const std::string& fingerprint, Printer& p) {
  p.Emit({{"version", kWeightsFormatVersion}, {"fingerprint", StringLiteral(fingerprint)}},
         R"cc(constexpr int64_t kFormatVersion = $version$;
constexpr char kFingerprint[] = $fingerprint$;

)cc");
}

namespace {

// Load after the checks: the tensors into their members.
void EmitReaderBody(const WeightsReader& reader, Printer& p) {
  if (!reader.members.empty()) {
    p.Emit(R"cc(auto get = [&](const char* name) {
  TORCH_CHECK(tensors.contains(name) && tensors.at(name).isTensor(), "weights file '",
              weights_path, "' lacks tensor '", name, "'");
  return tensors.at(name).toTensor();
};
)cc");
  }
  p.Emit({{"class", reader.class_name}}, "$class$ extractor;\n");
  for (const auto& [member, entry] : reader.members) {
    p.Emit({{"member", member}, {"entry", StringLiteral(entry)}},
           "extractor.$member$ = get($entry$);\n");
  }
  if (reader.optimize) {
    p.Emit("auto optimized = std::make_shared<Optimized>();\n");
    for (const auto& [member, init] : reader.prepacked) {
      p.Emit({{"member", member}, {"init", init}}, "optimized->$member$ = $init$;\n");
    }
    p.Emit("extractor.optimized_ = std::move(optimized);\n");
  }
  p.Emit("return extractor;\n");
}

}  // namespace

void EmitWeightsReader(const WeightsReader& reader, Printer& p) {
  p.Emit({{"class", reader.class_name}},
         R"cc($class$ $class$::Load(const std::string& weights_path) {
  std::ifstream in(weights_path, std::ios::binary);
  TORCH_CHECK(in.good(), "cannot open weights file '", weights_path, "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue file;
  try {
    file = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "weights file '", weights_path, "' is not readable: ", e.what_without_backtrace());
  }
  TORCH_CHECK(file.isGenericDict(), "weights file '", weights_path, "' is not a featx weights file");
  c10::impl::GenericDict dict = file.toGenericDict();
  TORCH_CHECK(dict.contains("format_version") && dict.at("format_version").isInt() &&
                  dict.at("format_version").toInt() == kFormatVersion,
              "weights file '", weights_path, "' has an unsupported format version");
  TORCH_CHECK(dict.contains("fingerprint") && dict.at("fingerprint").isString() &&
                  dict.at("fingerprint").toStringRef() == kFingerprint,
              "weights file '", weights_path, "' was written for different generated code "
              "(fingerprint mismatch); regenerate both together");
  TORCH_CHECK(dict.contains("tensors") && dict.at("tensors").isGenericDict(),
              "weights file '", weights_path, "' has no tensors");
  c10::impl::GenericDict tensors = dict.at("tensors").toGenericDict();
)cc");
  {
    Printer::Indent body(p);
    EmitReaderBody(reader, p);
  }
  p.Emit("}\n\n");
}

}  // namespace featx
