// select.h
//
// Resolves torchvision's `return_nodes` against the names NameNodes gave a
// graph's nodes. Each entry is "query" or "query:key". A query is an exact node
// name, or a truncated one: "layer2" selects the last node (in execution order)
// whose name, cut to the query's number of dot-separated components, is
// "layer2" ("layer2.1.relu_1", not "layer20.relu").
//
// Example:
//   NameNodes(graph);
//   absl::StatusOr<std::vector<ReturnNode>> outs =
//       featx::SelectOutputs(graph, {"layer1", "layer4.1.relu_1:feat"});
//   // (*outs)[0].key == "layer1", (*outs)[0].node->name() == "layer1.1.relu_1"
//   // (*outs)[1].key == "feat"
//
// An entry "glob:PATTERN" selects every node whose name matches PATTERN (see
// GlobMatch), in execution order, each keyed by its own name:
// "glob:layer3.*.add" gives "layer3.0.add" and "layer3.1.add" in resnet18.
//
// Differences from torchvision, on purpose: outputs come back in the user's
// order (torchvision returns them in graph order); an exact name wins over a
// truncated match; two queries may resolve to the same node (torchvision
// silently moves the second one to an earlier node); a repeated key is an error
// (torchvision's list form silently keeps one).

#ifndef FEATX_NAMING_SELECT_H_
#define FEATX_NAMING_SELECT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace featx {

// One requested output.
struct ReturnNode {
  std::string key;    // output key (defaults to the query)
  std::string query;  // what the user asked for
  Node* node;         // the node it resolved to
};

// Shell-style glob on a whole node name, as Python's fnmatch: '*' matches any
// run of characters (dots included), '?' any one character, "[abc]" / "[a-z]"
// / "[!abc]" one character of (not of) a set; anything else matches itself.
// GlobMatch("layer3.*.add", "layer3.1.add") is true.
bool GlobMatch(absl::string_view pattern, absl::string_view name);

// One parsed return_nodes entry.
struct ReturnNodeEntry {
  std::string query;  // a node name or a truncated one; for a glob, its pattern
  std::string key;    // the output key; empty for a glob (each match is keyed by its name)
  bool glob = false;  // "glob:PATTERN"
};

// The one parser of return_nodes syntax (SelectOutputs, the CLI's flags and
// //fuzz use it). An entry is "query", "query:key" (split at the last ':',
// since module names may hold ':'), or "glob:PATTERN". InvalidArgument for an
// empty entry (as "layer1,,layer2" gives), an empty query or key, an empty
// part between colons ("a::b", "a:", ":x"), an empty glob pattern, or two
// entries with the same explicit key ("a:x,b:x"). A glob's keys are only
// known once resolved; SelectOutputs checks those.
absl::StatusOr<std::vector<ReturnNodeEntry>> ParseReturnNodes(
    const std::vector<std::string>& entries);

// The same for comma-separated text, as --return_nodes gives it: "a,,b" has
// an empty entry, and "" is no entry at all.
absl::StatusOr<std::vector<ReturnNodeEntry>> ParseReturnNodes(absl::string_view text);

// Parses and resolves `return_nodes` ("query" or "query:key", split at the last
// ':'; or "glob:PATTERN") against the names of the top-level nodes of `graph`
// (the output node excluded). Precondition: NameNodes(graph) has run. Output
// order is the order of `return_nodes`, a glob's nodes in execution order.
// Errors:
//   InvalidArgument: what ParseReturnNodes rejects; two outputs with the same key.
//   NotFound: a query or pattern matching no name; for a query the message
//   lists the closest names.
absl::StatusOr<std::vector<ReturnNode>> SelectOutputs(const Graph& graph,
                                                      const std::vector<std::string>& return_nodes);

// torchvision's choice between `return_nodes` and separate train/eval lists.
// An empty list counts as not given.
struct ReturnNodeSpec {
  std::vector<std::string> return_nodes, train_return_nodes, eval_return_nodes;
};

// Returns {train list, eval list}: both are `return_nodes`, or the separate
// lists. InvalidArgument, as create_feature_extractor checks: nothing given;
// only one of train/eval given; return_nodes given with train/eval.
absl::StatusOr<std::pair<std::vector<std::string>, std::vector<std::string>>> ReturnNodesPerMode(
    const ReturnNodeSpec& spec);

// Types a return node may have: Tensor, List[Tensor], Dict[str, Tensor], or a
// non-empty tuple of these. Both back ends return a dict's or tuple's
// tensors under "key.subkey" / "key.0".
bool IsReturnableType(const Type& type);

}  // namespace featx

#endif  // FEATX_NAMING_SELECT_H_
