// emitter.h (internal to //codegen:cpp)
//
// Emits the statements of a graph: one C++ statement per node, in node
// order, through a Printer. Split by construct:
//   emit_control.cc  graphs, nodes, leaf bodies (immediately invoked
//                    lambdas), `if`, loops, releasing tensors after last use;
//   emit_ops.cc      operators: ATen's typed at::_ops calls, builtins from the
//                    lowering table (builtins.h), dicts, str.format, boxed
//                    calls through LibTorch's registries, prepacked
//                    convolutions of optimized code.
// What the statements need from the file around them (includes, runtime
// sections, weight members, prepacked convolutions) is collected here and
// read by cpp.cc, which writes the file templates (templates.h).
//
//   BodyEmitter body(input, names, printer);
//   absl::StatusOr<std::vector<std::string>> results = body.EmitGraph(*input.graph, 1);

#ifndef FEATX_CODEGEN_EMITTER_H_
#define FEATX_CODEGEN_EMITTER_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codegen/builtins.h"
#include "codegen/cpp.h"
#include "codegen/names.h"
#include "codegen/printer.h"
#include "codegen/schema.h"
#include "codegen/types.h"
#include "graph/graph.h"
#include "passes/fuse_activations.h"

namespace featx {

class BodyEmitter {
 public:
  // `names` already holds the names the file itself uses; `weight_members`
  // maps get_attr targets to the class's members.
  BodyEmitter(const CppExtractorInput& input, Namespace& names,
              const std::map<std::string, std::string>& weight_members, Printer& printer);

  // Emits the nodes of `g` (not its placeholders; depth 1 is the top graph)
  // and returns the C++ expressions of its output node's arguments.
  absl::StatusOr<std::vector<std::string>> EmitGraph(const Graph& g, int depth);

  // What the file around the statements needs.
  const std::vector<std::pair<std::string, std::string>>& inputs() const { return inputs_; }
  const std::set<std::string>& ops_headers() const { return ops_headers_; }
  const std::set<std::string>& runtime_sections() const { return runtime_sections_; }
  const std::set<std::string>& includes() const { return includes_; }
  const std::vector<std::pair<std::string, std::string>>& prepacked() const { return convs_; }

 private:
  // ---- emit_control.cc
  absl::Status EmitNode(const Node& n, int depth);
  absl::Status EmitBody(const Node& n, int depth);
  absl::Status EmitIf(const Node& n, int depth);
  absl::Status EmitLoop(const Node& n, int depth);
  absl::StatusOr<std::vector<std::string>> Coerce(const Graph& block,
                                                  std::vector<std::string> results,
                                                  const std::string& if_type);
  void ReleaseAfter(const std::vector<const Node*>& nodes);

  // ---- emit_ops.cc
  absl::Status EmitOperator(const Node& n);
  absl::Status EmitTupleIndex(const Node& n);
  absl::Status EmitDictConstruct(const Node& n);
  absl::Status EmitPrepackedConv(const Node& n, const Conv2dCall& conv);
  absl::Status EmitAten(const Node& n, const Schema& schema, const std::vector<std::string>& args);
  absl::Status EmitBuiltin(const Node& n, const Schema& schema, const OperatorInfo& info,
                           const std::vector<std::string>& args);
  absl::Status EmitFormat(const Node& n);
  absl::Status EmitBoxed(const Node& n, const Schema& schema, const OperatorInfo& info);
  absl::StatusOr<std::vector<std::string>> BoxedResultTypes(const Node& n, const Schema& schema);
  void EmitBoxedLookup(const Node& n, const Schema& schema, const OperatorInfo& info,
                       const std::string& op);

  // ---- shared
  // The comment line before a node's statement: "// layer1.0.relu (ReLU)".
  void EmitComment(const Node& n, absl::string_view suffix = "");
  std::string NewVar(const Node& n);
  absl::StatusOr<std::string> NodeExpr(const Node* node) const;
  absl::StatusOr<std::string> Expr(const Argument& a, absl::string_view type,
                                   ListForm form = ListForm::kArrayRef) const {
    return exprs_.Expr(a, type, form);
  }

  const CppExtractorInput& input_;
  Namespace& names_;
  const std::map<std::string, std::string>& weight_members_;
  Printer& p_;
  ArgumentExprs exprs_;
  absl::flat_hash_map<const Node*, std::string> vars_;
  std::vector<std::pair<std::string, std::string>> inputs_;  // local, parameter
  std::set<std::string> ops_headers_;
  std::set<std::string> runtime_sections_;
  std::set<std::string> includes_;
  Namespace conv_names_{Namespace::Macros::kAvoided};       // members of Optimized
  std::vector<std::pair<std::string, std::string>> convs_;  // member, PrepackedConv2d(...)
};

}  // namespace featx

#endif  // FEATX_CODEGEN_EMITTER_H_
