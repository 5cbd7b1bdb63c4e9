#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "graph/graph.h"
#include "graph/text.h"

namespace featx::fuzz {

int FuzzGraphText(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<Graph>> graph = ParseGraph(text);
  if (!graph.ok()) {
    FUZZ_CHECK(graph.status().code() == absl::StatusCode::kInvalidArgument,
               graph.status().ToString());
    return 0;
  }
  // Printing then parsing gives back an equal graph (text.h's promise).
  std::string printed = PrintGraph(**graph);
  absl::StatusOr<std::unique_ptr<Graph>> again = ParseGraph(printed);
  FUZZ_CHECK(again.ok(), again.status().ToString() + "\n" + printed);
  FUZZ_CHECK(PrintGraph(**again) == printed, printed);
  // The verifier answers with a Status on anything the parser built.
  (void)Verify(**graph);
  return 0;
}

}  // namespace featx::fuzz
