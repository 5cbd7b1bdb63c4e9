#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "graph/text.h"
#include "naming/naming.h"
#include "naming/select.h"

namespace featx::fuzz {

namespace {

// A resnet-like named graph to resolve entries against.
const Graph& NamedGraph() {
  static const Graph* graph = [] {
    absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(R"(%0 = placeholder x : Tensor
%1 = call_module conv1(%0) : Tensor class=torch.nn.modules.conv.Conv2d
%2 = call_module layer1.0.conv1(%1) : Tensor class=torch.nn.modules.conv.Conv2d
%3 = call_function aten::relu(%2) : Tensor scope=layer1.0
%4 = call_function aten::add.Tensor(%3, %1, 1) : Tensor scope=layer1.0
%5 = call_module layer2.0.conv1(%4) : Tensor class=torch.nn.modules.conv.Conv2d
%6 = call_function aten::relu(%5) : Tensor scope=layer2.0
%7 = call_module a:b(%6) : Tensor class=torch.nn.modules.activation.ReLU
output(%7)
)");
    FUZZ_CHECK(g.ok(), g.status().ToString());
    NameNodes(**g);
    return g->release();
  }();
  return *graph;
}

}  // namespace

int FuzzReturnNodes(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<ReturnNodeEntry>> parsed = ParseReturnNodes(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    return 0;
  }
  // What was accepted is well formed and prints back to the same entries.
  std::vector<std::string> entries;
  for (const ReturnNodeEntry& e : *parsed) {
    FUZZ_CHECK(!e.query.empty(), text);
    FUZZ_CHECK(e.glob == e.key.empty(), text);
    FUZZ_CHECK(e.key.find(':') == std::string::npos, text);
    entries.push_back(e.glob ? absl::StrCat("glob:", e.query)
                      : e.query == e.key && e.query.find(':') == std::string::npos
                          ? e.query
                          : absl::StrCat(e.query, ":", e.key));
  }
  std::string printed = absl::StrJoin(entries, ",");
  absl::StatusOr<std::vector<ReturnNodeEntry>> again = ParseReturnNodes(printed);
  FUZZ_CHECK(again.ok() && again->size() == parsed->size(), printed);
  for (size_t i = 0; i < parsed->size(); ++i) {
    FUZZ_CHECK((*again)[i].query == (*parsed)[i].query && (*again)[i].key == (*parsed)[i].key &&
                   (*again)[i].glob == (*parsed)[i].glob,
               printed);
  }
  // Resolving: NotFound or InvalidArgument (a glob's repeated key), else every
  // entry resolved to a node.
  std::vector<std::string> list(entries.begin(), entries.end());
  absl::StatusOr<std::vector<ReturnNode>> selected = SelectOutputs(NamedGraph(), list);
  if (!selected.ok()) {
    FUZZ_CHECK(selected.status().code() == absl::StatusCode::kNotFound ||
                   selected.status().code() == absl::StatusCode::kInvalidArgument,
               selected.status().ToString());
    return 0;
  }
  for (const ReturnNode& r : *selected) FUZZ_CHECK(r.node != nullptr, printed);
  return 0;
}

}  // namespace featx::fuzz
