#include "graph/graph.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace featx {

namespace {

constexpr std::pair<OpCode, absl::string_view> kOpCodeNames[] = {
    {OpCode::kPlaceholder, "placeholder"},
    {OpCode::kGetAttr, "get_attr"},
    {OpCode::kCallModule, "call_module"},
    {OpCode::kCallFunction, "call_function"},
    {OpCode::kOutput, "output"},
    {OpCode::kIf, "if"},
    {OpCode::kLoop, "loop"},
};

// Operators that must run even if their result is unused.
constexpr absl::string_view kSideEffectOps[] = {
    "prim::RaiseException",
    "aten::_assert",
    "prim::Print",
    "aten::warn",
};

}  // namespace

absl::string_view OpCodeName(OpCode op) {
  for (const auto& [code, name] : kOpCodeNames) {
    if (code == op) return name;
  }
  return "?";
}

std::optional<OpCode> ParseOpCode(absl::string_view name) {
  for (const auto& [code, text] : kOpCodeNames) {
    if (text == name) return code;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- Argument

Argument Argument::Bool(bool v) {
  Argument a;
  a.kind_ = Kind::kBool;
  a.int_ = v ? 1 : 0;
  return a;
}

Argument Argument::Int(int64_t v) {
  Argument a;
  a.kind_ = Kind::kInt;
  a.int_ = v;
  return a;
}

Argument Argument::Double(double v) {
  Argument a;
  a.kind_ = Kind::kDouble;
  a.double_ = v;
  return a;
}

Argument Argument::String(std::string v) {
  Argument a;
  a.kind_ = Kind::kString;
  a.string_ = std::move(v);
  return a;
}

Argument Argument::Device(std::string v) {
  Argument a;
  a.kind_ = Kind::kDevice;
  a.string_ = std::move(v);
  return a;
}

Argument Argument::NodeRef(Node* node) {
  Argument a;
  a.kind_ = Kind::kNode;
  a.node_ = node;
  return a;
}

Argument Argument::List(std::vector<Argument> elements) {
  Argument a;
  a.kind_ = Kind::kList;
  a.elements_ = std::move(elements);
  return a;
}

Argument Argument::Tuple(std::vector<Argument> elements) {
  Argument a;
  a.kind_ = Kind::kTuple;
  a.elements_ = std::move(elements);
  return a;
}

bool Argument::IsLiteral() const {
  if (kind_ == Kind::kNode) return false;
  return std::all_of(elements_.begin(), elements_.end(),
                     [](const Argument& e) { return e.IsLiteral(); });
}

void Argument::ForEachNode(const std::function<void(Node*)>& fn) const {
  if (kind_ == Kind::kNode) fn(node_);
  for (const Argument& e : elements_) e.ForEachNode(fn);
}

Argument Argument::MapNodes(const std::function<Node*(Node*)>& fn) const {
  if (kind_ == Kind::kNode) return NodeRef(fn(node_));
  Argument copy = *this;
  for (Argument& e : copy.elements_) e = e.MapNodes(fn);
  return copy;
}

bool operator==(const Argument& a, const Argument& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Argument::Kind::kNone:
      return true;
    case Argument::Kind::kBool:
    case Argument::Kind::kInt:
      return a.int_ == b.int_;
    case Argument::Kind::kDouble:
      // Bitwise, so that NaN equals itself and -0.0 differs from 0.0.
      return std::memcmp(&a.double_, &b.double_, sizeof(double)) == 0;
    case Argument::Kind::kString:
    case Argument::Kind::kDevice:
      return a.string_ == b.string_;
    case Argument::Kind::kNode:
      return a.node_ == b.node_;
    case Argument::Kind::kList:
    case Argument::Kind::kTuple:
      return a.elements_ == b.elements_;
  }
  return false;
}

// ---------------------------------------------------------------- Node

Node::Node(Graph* owner, NodeInit init)
    : op_(init.op),
      target_(std::move(init.target)),
      args_(std::move(init.args)),
      type_(std::move(init.type)),
      scope_(std::move(init.scope)),
      module_type_(std::move(init.module_type)),
      location_(std::move(init.location)),
      mutates_(std::move(init.mutates)),
      alias_of_(init.alias_of),
      fx_op_(std::move(init.fx_op)),
      owner_(owner) {}

bool Node::IsOperator() const {
  return op_ == OpCode::kCallFunction && target_.find("::") != std::string::npos;
}

absl::string_view Node::OperatorName() const {
  absl::string_view t = target_;
  if (!IsOperator()) return t;
  size_t colon = t.find("::");
  size_t dot = t.find('.', colon);
  return dot == absl::string_view::npos ? t : t.substr(0, dot);
}

absl::string_view Node::OverloadName() const {
  if (!IsOperator()) return "";
  absl::string_view t = target_;
  size_t dot = t.find('.', t.find("::"));
  return dot == absl::string_view::npos ? "" : t.substr(dot + 1);
}

bool Node::HasSideEffects() const {
  switch (op_) {
    case OpCode::kPlaceholder:
    case OpCode::kOutput:
      return true;
    case OpCode::kCallFunction:
      return std::find(std::begin(kSideEffectOps), std::end(kSideEffectOps), OperatorName()) !=
             std::end(kSideEffectOps);
    case OpCode::kIf:
    case OpCode::kLoop:
      for (const auto& block : blocks_) {
        for (const auto& n : block->nodes()) {
          if (n->op() != OpCode::kPlaceholder && n->op() != OpCode::kOutput &&
              n->HasSideEffects()) {
            return true;
          }
        }
      }
      return false;
    default:
      return false;
  }
}

// ---------------------------------------------------------------- Graph

Graph::~Graph() {
  // Uses may cross block boundaries; drop them before any node goes away so
  // that no destructor sees a dangling user.
  for (auto& n : nodes_) n->users_.clear();
}

Node* Graph::output() const {
  if (!nodes_.empty() && nodes_.back()->op() == OpCode::kOutput) return nodes_.back().get();
  return nullptr;
}

std::vector<Node*> Graph::Placeholders() const {
  std::vector<Node*> result;
  for (const auto& n : nodes_) {
    if (n->op() == OpCode::kPlaceholder) result.push_back(n.get());
  }
  return result;
}

Node* Graph::Append(NodeInit init) { return Insert(nodes_.size(), std::move(init)); }

Node* Graph::InsertBefore(const Node* position, NodeInit init) {
  int index = IndexOf(position);
  assert(index >= 0 && "InsertBefore: position is not in this graph");
  return Insert(static_cast<size_t>(index), std::move(init));
}

Node* Graph::Insert(size_t index, NodeInit init) {
  auto node = std::unique_ptr<Node>(new Node(this, std::move(init)));
  Node* raw = node.get();
  nodes_.insert(nodes_.begin() + index, std::move(node));
  Reindex(index);
  AddUses(raw);
  return raw;
}

Graph* Graph::AddBlock(Node* node) {
  auto block = std::make_unique<Graph>();
  block->parent_ = node;
  node->blocks_.push_back(std::move(block));
  return node->blocks_.back().get();
}

void Graph::Reindex(size_t from) {
  for (size_t i = from; i < nodes_.size(); ++i) nodes_[i]->index_ = static_cast<int>(i);
}

int Graph::IndexOf(const Node* node) const {
  if (node == nullptr || node->owner_ != this) return -1;
  return node->index_;
}

void Graph::AddUses(Node* user) {
  for (const Argument& a : user->args_) {
    a.ForEachNode([user](Node* used) {
      auto& users = used->users_;
      if (std::find(users.begin(), users.end(), user) == users.end()) users.push_back(user);
    });
  }
}

void Graph::RemoveUses(Node* user) {
  for (const Argument& a : user->args_) {
    a.ForEachNode([user](Node* used) {
      auto& users = used->users_;
      users.erase(std::remove(users.begin(), users.end(), user), users.end());
    });
  }
  // Nodes in the user's blocks go away with it; so do their uses of outer values.
  for (auto& block : user->blocks_) {
    for (auto& n : block->nodes_) block->RemoveUses(n.get());
  }
}

void Graph::SetArgs(Node* node, std::vector<Argument> args) {
  // Only the node's own arguments change: the nodes of its blocks keep their
  // uses (RemoveUses would drop those too).
  for (const Argument& a : node->args_) {
    a.ForEachNode([node](Node* used) {
      auto& users = used->users_;
      users.erase(std::remove(users.begin(), users.end(), node), users.end());
    });
  }
  node->args_ = std::move(args);
  AddUses(node);
}

void Graph::ReplaceAllUsesWith(Node* from, Node* to) {
  std::vector<Node*> users = from->users_;  // copied: SetArgs edits it
  for (Node* user : users) {
    std::vector<Argument> args;
    args.reserve(user->args_.size());
    for (const Argument& a : user->args_) {
      args.push_back(a.MapNodes([from, to](Node* n) { return n == from ? to : n; }));
    }
    user->owner_->SetArgs(user, std::move(args));
  }
}

absl::Status Graph::Erase(Node* node) {
  if (node->owner_ != this) {
    return absl::InvalidArgumentError("Erase: node is not in this graph");
  }
  if (!node->users_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot erase node ", node->name().empty() ? node->target_ : node->name_,
                     ": it still has ", node->users_.size(), " user(s)"));
  }
  size_t index = node->index_;
  RemoveUses(node);
  nodes_.erase(nodes_.begin() + index);
  Reindex(index);
  return absl::OkStatus();
}

int Graph::EraseIf(const std::function<bool(const Node&)>& pred) {
  std::vector<bool> erase(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) erase[i] = pred(*nodes_[i]);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (erase[i]) RemoveUses(nodes_[i].get());
  }
  size_t kept = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!erase[i]) nodes_[kept++] = std::move(nodes_[i]);
  }
  int removed = static_cast<int>(nodes_.size() - kept);
  nodes_.resize(kept);
  Reindex(0);
  return removed;
}

// ---------------------------------------------------------------- Verify

namespace {

std::string Describe(const Node& n) {
  return absl::StrCat(OpCodeName(n.op()), " '", n.name().empty() ? n.target() : n.name(), "'");
}

// True if `def` is visible at `use`: defined earlier in the same graph, or
// earlier than the block-owning ancestor of `use` in an enclosing graph.
bool DefinedBefore(const Node* def, const Node* use) {
  const Node* at = use;
  while (at != nullptr) {
    if (def->owner() == at->owner()) {
      return def->owner()->IndexOf(def) < at->owner()->IndexOf(at);
    }
    at = at->owner()->parent();
  }
  return false;
}

absl::Status VerifyGraph(const Graph& graph, bool top_level) {
  const auto& nodes = graph.nodes();
  if (nodes.empty() || nodes.back()->op() != OpCode::kOutput) {
    return absl::InternalError("graph does not end with an output node");
  }
  bool past_placeholders = false;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = *nodes[i];
    if (graph.IndexOf(&n) != static_cast<int>(i) || n.owner() != &graph) {
      return absl::InternalError(absl::StrCat(Describe(n), " has a stale index or owner"));
    }
    if (n.op() == OpCode::kPlaceholder) {
      if (past_placeholders) {
        return absl::InternalError(absl::StrCat(Describe(n), " comes after a non-placeholder"));
      }
    } else {
      past_placeholders = true;
    }
    if (n.op() == OpCode::kOutput && i + 1 != nodes.size()) {
      return absl::InternalError("output node is not the last node");
    }
    switch (n.op()) {
      case OpCode::kPlaceholder:
      case OpCode::kGetAttr:
      case OpCode::kCallModule:
      case OpCode::kCallFunction:
        if (n.target().empty()) {
          return absl::InternalError(absl::StrCat(Describe(n), " has no target"));
        }
        // call_module / call_function may carry their leaf's body.
        if (n.blocks().size() >
            (n.op() == OpCode::kCallModule || n.op() == OpCode::kCallFunction ? 1u : 0u)) {
          return absl::InternalError(absl::StrCat(Describe(n), " has too many blocks"));
        }
        break;
      case OpCode::kOutput:
        break;
      case OpCode::kIf:
        if (n.blocks().size() != 2 || n.args().empty()) {
          return absl::InternalError(
              absl::StrCat(Describe(n), " needs a condition and two blocks"));
        }
        break;
      case OpCode::kLoop:
        if (n.blocks().size() != 1 || n.args().size() < 2) {
          return absl::InternalError(
              absl::StrCat(Describe(n), " needs a trip count, a condition and one body block"));
        }
        break;
    }
    // Every argument is defined before and lists this node as a user.
    absl::Status status;
    for (const Argument& a : n.args()) {
      a.ForEachNode([&](Node* used) {
        if (!status.ok()) return;
        if (!DefinedBefore(used, &n)) {
          status = absl::InternalError(
              absl::StrCat(Describe(n), " uses ", Describe(*used), " before it is defined"));
        } else if (std::find(used->users().begin(), used->users().end(), &n) ==
                   used->users().end()) {
          status = absl::InternalError(
              absl::StrCat(Describe(*used), " does not list user ", Describe(n)));
        }
      });
    }
    if (!status.ok()) return status;
    // Every listed user really uses this node, and is listed once.
    absl::flat_hash_set<const Node*> seen;
    for (const Node* user : n.users()) {
      if (!seen.insert(user).second) {
        return absl::InternalError(absl::StrCat(Describe(n), " lists a user twice"));
      }
      bool uses = false;
      for (const Argument& a : user->args()) {
        a.ForEachNode([&](Node* used) { uses = uses || used == &n; });
      }
      if (!uses) {
        return absl::InternalError(
            absl::StrCat(Describe(n), " lists ", Describe(*user), " which does not use it"));
      }
    }
    for (const auto& block : n.blocks()) {
      if (block->parent() != &n) {
        return absl::InternalError(absl::StrCat(Describe(n), " has a block with a wrong parent"));
      }
      absl::Status s = VerifyGraph(*block, /*top_level=*/false);
      if (!s.ok()) return s;
    }
  }
  if (top_level && graph.parent() != nullptr) {
    return absl::InternalError("top-level graph has a parent");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Verify(const Graph& graph) { return VerifyGraph(graph, /*top_level=*/true); }

void ForEachNodeRecursive(const Graph& graph, const std::function<void(Node*)>& fn) {
  for (const auto& n : graph.nodes()) {
    fn(n.get());
    for (const auto& block : n->blocks()) ForEachNodeRecursive(*block, fn);
  }
}

}  // namespace featx
