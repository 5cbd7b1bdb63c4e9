// naming.h
//
// Gives every node of a traced Graph the name torchvision's
// get_graph_node_names would give it, in linear time.
//
//   - call_module nodes are named by their module path: "blocks.1.downsample".
//   - Other nodes are named scope + "." + op, or just op at the root, where op
//     is what FX records: Node::fx_op where the tracer set it ("getattr" for
//     `x.shape`, "add" for `y += x`), else the operator or function name
//     without namespace or overload ("aten::relu_" -> "relu_", as FX names
//     the method call `x.relu_()`; "_max_pool2d" -> "max_pool2d"); a
//     get_attr's op is its path with dots turned into underscores
//     ("features_1_0_layer_scale").
//   - A repeated name gets "_1", "_2", ... counted per name in execution order.
//
// One deliberate difference: torchvision strips a trailing "_<digits>" from
// module paths ("conv_1" is listed as "conv"); featx never rewrites them, and
// instead keeps names unique by skipping any counter already taken.
//
// Example:
//   std::vector<std::string> names = featx::NameNodes(graph);
//   // names[i] == "layer1.0.relu_1"

#ifndef FEATX_NAMING_NAMING_H_
#define FEATX_NAMING_NAMING_H_

#include <string>
#include <vector>

#include "graph/graph.h"

namespace featx {

// The op part of a node's name, before scope and counters: "add", "relu",
// "getitem", "features_1_0_layer_scale"; for call_module the module path.
std::string OpName(const Node& node);

// False for nodes torchvision's get_graph_node_names does not list: the
// output, buffers' get_attr nodes, and dicts FX passes as literal arguments
// (prim::DictConstruct). They are still named, and selectable by exact name.
bool IsListedByTorchvision(const Node& node);

// Names the nodes of `graph` (all but the output), storing each with
// Node::set_name, and returns the top-level names in execution order. Nodes in
// nested blocks are named after all top-level nodes so that they never shift a
// top-level counter; they are not returned.
std::vector<std::string> NameNodes(Graph& graph);

}  // namespace featx

#endif  // FEATX_NAMING_NAMING_H_
