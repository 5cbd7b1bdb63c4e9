#include "codegen/runtime.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "codegen/runtime/runtime_source.h"

namespace featx {

namespace {

constexpr absl::string_view kBegin = "// featx:section ";
constexpr absl::string_view kEnd = "// featx:end";

struct Section {
  std::string name;
  std::string text;
};

// The sections of featx_runtime.h, in file order, parsed once.
const std::vector<Section>& Sections() {
  static const auto* sections = [] {
    auto* out = new std::vector<Section>;
    Section* open = nullptr;
    for (absl::string_view line : absl::StrSplit(kFeatxRuntimeSource, '\n')) {
      if (open == nullptr && absl::StartsWith(line, kBegin)) {
        out->push_back({std::string(line.substr(kBegin.size())), ""});
        open = &out->back();
      } else if (open != nullptr && line == kEnd) {
        open->text += '\n';  // the blank line after each section
        open = nullptr;
      } else if (open != nullptr) {
        absl::StrAppend(&open->text, line, "\n");
      }
    }
    return out;
  }();
  return *sections;
}

}  // namespace

std::vector<std::string> RuntimeSectionNames() {
  std::vector<std::string> names;
  for (const Section& s : Sections()) names.push_back(s.name);
  return names;
}

absl::StatusOr<std::string> RuntimeSections(const std::set<std::string>& names) {
  std::string out;
  std::set<std::string> found;
  for (const Section& s : Sections()) {
    if (!names.count(s.name)) continue;
    out += s.text;
    found.insert(s.name);
  }
  if (found.size() != names.size()) {
    std::vector<std::string> missing;
    for (const std::string& n : names) {
      if (!found.count(n)) missing.push_back(n);
    }
    return absl::InternalError(
        absl::StrCat("featx_runtime.h has no section ", absl::StrJoin(missing, ", ")));
  }
  return out;
}

}  // namespace featx
