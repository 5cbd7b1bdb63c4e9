// dot.h
//
// Draws a named Graph in Graphviz's DOT language (what `featx graph
// --format=dot|svg|png` writes):
//   - one box per top-level node, labelled with its name and what it calls
//     (module class, operator or function); edges follow the data flow;
//   - nodes are grouped in nested clusters by module path ("layer1" >
//     "layer1.0"); with `depth` = K, every module K components deep is drawn
//     as one box ("layer1.0" for depth 2) holding all nodes inside it;
//   - requested outputs are highlighted and labelled with their keys;
//   - nodes that pruning removes are greyed out.
// No LibTorch. Output depends only on the graph and the options (node order,
// no pointers or hash order), so it can be compared in tests.
//
// Markers for tools and tests: highlighted boxes carry class="featx-output",
// greyed ones class="featx-pruned" (Graphviz 2.44 and later copy `class` into
// SVG; Debian 12's 2.43 drops it, and only the colours show).
//
// Example:
//   NameNodes(graph);
//   std::string dot = featx::GraphToDot(graph, {.depth = 2,
//                                               .output_keys = {{"layer2.1.relu_1", {"layer2"}}},
//                                               .kept = kept_names});

#ifndef FEATX_VIZ_DOT_H_
#define FEATX_VIZ_DOT_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace featx {

struct DotOptions {
  // Collapse every module this many components deep into one box; 0: draw
  // every node.
  int depth = 0;
  // Node name -> the output keys it is returned under (highlighted).
  std::map<std::string, std::vector<std::string>> output_keys;
  // Names of the nodes pruning keeps. Unset: nothing is greyed out. Set: every
  // other node (the model's own output node included) is greyed out.
  std::optional<std::set<std::string>> kept;
  // The drawing's title (for example the model file); empty: none.
  std::string title;
};

// The DOT text of the top-level nodes of `graph` (nested blocks are drawn as
// their `if`/`loop` node; values they use from outside are edges into it).
// Precondition: NameNodes(graph) has run.
std::string GraphToDot(const Graph& graph, const DotOptions& options);

}  // namespace featx

#endif  // FEATX_VIZ_DOT_H_
