#include "codegen/cpp.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "codegen/cpp_optimize.h"
#include "codegen/emitter.h"
#include "codegen/printer.h"
#include "codegen/runtime.h"
#include "codegen/templates.h"
#include "codegen/types.h"
#include "pruning/dead_code.h"

namespace featx {

namespace {

// Names the generated code itself uses; no model name may take them.
constexpr const char* kReserved[] = {
    "features", "Features",  "inference_mode", "int64_t",      "NULL",      "errno",
    "linux",    "unix",      "assert",         "FloorDiv",     "Remainder", "GetItem",
    "SetItem",  "SliceList", "ConcatLists",    "Contains",     "AllOf",     "AnyOf",
    "Find",     "Format",    "kFormatVersion", "kFingerprint", "ListMax",   "ListMin",
    "DictAt",   "DictKeys",  "DictValues",     "DictFromPairs"};
constexpr const char* kReservedOptimized[] = {"optimized_",   "Optimized", "PrepackedConv2d",
                                              "PrepackedOps", "Ops",       "ToNchw"};

bool IsIdentifier(const std::string& name) {
  Namespace check;
  return check.Unique(name) == name;
}

// The class, namespace and stem come from the caller, not the model, but
// reach the files unescaped: they must be identifiers and a plain file name.
absl::Status CheckNames(const CppExtractorInput& input) {
  if (!IsIdentifier(input.class_name) || input.class_name == "Features") {
    return absl::InvalidArgumentError(
        absl::StrCat("class name '", input.class_name, "' is not a valid C++ identifier"));
  }
  for (absl::string_view part : absl::StrSplit(input.namespace_name, "::")) {
    if (!IsIdentifier(std::string(part))) {
      return absl::InvalidArgumentError(
          absl::StrCat("namespace '", input.namespace_name, "' is not a valid C++ namespace"));
    }
  }
  bool plain = !input.stem.empty() && input.stem[0] != '.';
  for (unsigned char c : input.stem) {
    plain = plain && (absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.');
  }
  if (!plain) {
    return absl::InvalidArgumentError(
        absl::StrCat("stem '", input.stem, "' is not a plain file name ([A-Za-z0-9_.-])"));
  }
  return absl::OkStatus();
}

// The Features struct's members: output keys as unique identifiers.
std::vector<OutputField> Fields(const CppExtractorInput& input,
                                const std::vector<std::string>& results) {
  Namespace fields(Namespace::Macros::kAvoided);
  fields.Unique("ToDict");  // the struct's method
  std::vector<OutputField> out;
  for (size_t i = 0; i < input.keys.size(); ++i) {
    const Argument& a = input.graph->output()->args()[i];
    OutputField f;
    f.name = fields.Unique(input.keys[i]);
    f.type = a.is_node() ? a.node()->type() : "Tensor";
    absl::StatusOr<std::string> cpp = CppType(f.type);
    f.cpp_type = cpp.ok() ? *cpp : "at::Tensor";
    f.key = input.keys[i];
    f.value = results[i];
    out.push_back(std::move(f));
  }
  return out;
}

// The statements of operator(), and what the file around them needs.
absl::StatusOr<FileParts> EmitBody(const CppExtractorInput& input) {
  Namespace names(Namespace::Macros::kAvoided);
  for (const char* reserved : kReserved) names.Unique(reserved);
  if (input.optimize) {
    for (const char* reserved : kReservedOptimized) names.Unique(reserved);
  }
  FileParts parts;
  std::map<std::string, std::string> weight_members;
  for (const std::string& w : input.weights) {
    // The trailing '_' is part of the reserved name, so no local can shadow it.
    weight_members[w] = names.Unique("w_" + w + "_");
    parts.weights.emplace_back(weight_members[w], w);
  }
  Printer printer;
  Printer::Indent indent(printer);
  BodyEmitter body(input, names, weight_members, printer);
  ASSIGN_OR_RETURN(std::vector<std::string> results, body.EmitGraph(*input.graph, 1));
  ASSIGN_OR_RETURN(parts.body, printer.Finish());
  parts.fields = Fields(input, results);
  parts.inputs = body.inputs();
  parts.prepacked = body.prepacked();
  for (const std::string& op : body.ops_headers()) {
    parts.includes.push_back(absl::StrCat("ATen/ops/", op, "_ops.h"));
  }
  std::set<std::string> includes = body.includes();
  std::set<std::string> sections = body.runtime_sections();
  if (input.optimize) {
    for (const std::string& h : OptimizedRuntimeIncludes()) includes.insert(h);
    sections.insert(kOptimizedRuntimeSection);
  }
  parts.includes.insert(parts.includes.end(), includes.begin(), includes.end());
  ASSIGN_OR_RETURN(parts.runtime, RuntimeSections(sections));
  return parts;
}

}  // namespace

absl::StatusOr<CppSource> EmitCppExtractor(const CppExtractorInput& input) {
  if (input.graph == nullptr) return absl::InvalidArgumentError("no graph");
  if (input.graph->output() == nullptr ||
      input.graph->output()->args().size() != input.keys.size()) {
    return absl::InvalidArgumentError("the graph's outputs do not match the keys");
  }
  RETURN_IF_ERROR(CheckNames(input));
  RETURN_IF_ERROR(CheckNoDeadCode(*input.graph));
  ASSIGN_OR_RETURN(FileParts parts, EmitBody(input));
  parts.model_file = input.model_file;
  parts.class_name = input.class_name;
  parts.namespace_name = input.namespace_name;
  parts.stem = input.stem;
  parts.mode = input.mode;
  parts.optimize = input.optimize;
  parts.channels_last_outputs = input.channels_last_outputs;
  parts.fingerprint = WeightsFingerprint(*input.graph, input.keys, input.weights, input.optimize,
                                         input.channels_last_outputs);
  CppSource out;
  out.fingerprint = parts.fingerprint;
  ASSIGN_OR_RETURN(out.header, HeaderFile(parts));
  ASSIGN_OR_RETURN(out.source, SourceFile(parts));
  return out;
}

}  // namespace featx
