// text.h
//
// The one-line-per-node text form of a Graph: what tests read and compare, and
// what `featx graph` prints. Printing then parsing gives back an equal graph.
//
//   %0 = placeholder x : Tensor
//   %1 = get_attr param : Tensor
//   %2 = call_function aten::add.Tensor(%0, %1, 1) : Tensor
//   %3 = call_module submodule.lin(%2) : Tensor scope=submodule
//   class=__torch__.torch.nn.modules.linear.Linear %4 = call_function aten::relu(%3) : Tensor
//   scope=submodule %5 = if(%4) : NoneType {
//     output()
//   } {
//     %6 = call_function prim::RaiseException("boom", None) : NoneType
//     output()
//   }
//   output(%4)
//
// Arguments: %N (a node's value), None, true, false, integers, floats (always
// with a '.', 'e', inf or nan), "strings" with C escapes, device("cpu"),
// [lists] and (tuples,). Optional attributes after the type: scope=, class=,
// name=, mutates=0+1, alias_of=0, loc=. A token with characters outside [A-Za-z0-9_.:<>?*[]-] is
// quoted. Node numbers count every node, blocks included, in printing order.

#ifndef FEATX_GRAPH_TEXT_H_
#define FEATX_GRAPH_TEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace featx {

std::string PrintGraph(const Graph& graph);

// Parses the text form. Errors are InvalidArgument with the line number.
absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view text);

// The text of one argument, as it appears in the graph text. Node values print
// as `%<name>` if named, else as `%?`.
std::string PrintArgument(const Argument& arg);

// Shortest decimal text that reads back as exactly `value` ("0.1", "1e-05",
// "2.0", "inf", "nan").
std::string FormatDouble(double value);

}  // namespace featx

#endif  // FEATX_GRAPH_TEXT_H_
