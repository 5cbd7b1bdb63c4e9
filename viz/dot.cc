#include "viz/dot.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace featx {
namespace {

// Colours: Material amber for outputs, greys for pruned nodes.
constexpr char kOutputStyle[] =
    R"(class="featx-output", fillcolor="#ffe082", color="#e65100", penwidth=2)";
constexpr char kPrunedStyle[] =
    R"(class="featx-pruned", style="rounded,filled,dashed", fillcolor="#f5f5f5", color="#bdbdbd", fontcolor="#9e9e9e")";

// A DOT double-quoted string. Model-supplied text is untrusted: quotes and
// backslashes are escaped, control characters dropped, "\n" stays a line break.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out + "\"";
}

// The last dotted component of a TorchScript class name: "Conv2d" of
// "__torch__.torch.nn.modules.conv.Conv2d".
absl::string_view ShortClass(absl::string_view qualified) {
  size_t dot = qualified.rfind('.');
  return dot == absl::string_view::npos ? qualified : qualified.substr(dot + 1);
}

// What a node calls, for its label.
std::string Callee(const Node& n) {
  switch (n.op()) {
    case OpCode::kPlaceholder:
      return "input";
    case OpCode::kGetAttr:
      return n.module_type().empty() ? "get_attr" : n.module_type();
    case OpCode::kCallModule:
      return std::string(ShortClass(n.module_type()));
    case OpCode::kCallFunction:
      return n.IsOperator() ? std::string(n.OperatorName()) : std::string(ShortClass(n.target()));
    case OpCode::kOutput:
      return "";
    case OpCode::kIf:
      return "if";
    case OpCode::kLoop:
      return "loop";
  }
  return "";
}

// The module path a node is drawn inside: a leaf module's parent, else the
// node's scope. As components: "layer1.0" -> {"layer1", "0"}.
std::vector<std::string> Container(const Node& n) {
  std::string path = n.scope();
  if (n.op() == OpCode::kCallModule) {
    size_t dot = n.target().rfind('.');
    path = dot == std::string::npos ? "" : n.target().substr(0, dot);
  }
  if (path.empty()) return {};
  return absl::StrSplit(path, '.');
}

// One box of the drawing: a node, or a collapsed module.
struct Box {
  std::string id;
  std::vector<std::string> container;  // the clusters it sits in
  std::string label;
  std::vector<std::string> keys;  // output keys of the nodes it holds
  int nodes = 0;                  // nodes it holds
  int pruned = 0;                 // of which pruning removes
};

// A cluster: a module path, its boxes and sub-clusters in order of first use.
struct Cluster {
  std::string path;
  std::vector<int> boxes;
  std::vector<std::string> children;  // paths
};

void EmitCluster(const std::string& path, const std::map<std::string, Cluster>& clusters,
                 const std::vector<Box>& boxes, const std::map<std::string, int>& cluster_ids,
                 int indent, std::string* out);

std::string BoxLine(const Box& b) {
  std::string line = absl::StrCat(b.id, " [label=", Quote(b.label));
  if (!b.keys.empty()) {
    absl::StrAppend(&line, ", ", kOutputStyle);
  } else if (b.nodes > 0 && b.pruned == b.nodes) {
    absl::StrAppend(&line, ", ", kPrunedStyle);
  }
  return line + "];\n";
}

void EmitCluster(const std::string& path, const std::map<std::string, Cluster>& clusters,
                 const std::vector<Box>& boxes, const std::map<std::string, int>& cluster_ids,
                 int indent, std::string* out) {
  const Cluster& c = clusters.at(path);
  std::string pad(indent, ' ');
  for (int b : c.boxes) absl::StrAppend(out, pad, BoxLine(boxes[b]));
  for (const std::string& child : c.children) {
    absl::StrAppend(out, pad, "subgraph cluster_", cluster_ids.at(child), " {\n", pad,
                    "  label=", Quote(child), ";\n");
    EmitCluster(child, clusters, boxes, cluster_ids, indent + 2, out);
    absl::StrAppend(out, pad, "}\n");
  }
}

// Calls `fn` for every node of `graph` whose value `n` uses: its arguments,
// and values its blocks use from enclosing graphs.
void ForEachInput(const Node& n, const Graph& graph, const std::function<void(Node*)>& fn) {
  for (const Argument& a : n.args()) a.ForEachNode(fn);
  for (const auto& block : n.blocks()) {
    ForEachNodeRecursive(*block, [&](Node* inner) {
      for (const Argument& a : inner->args()) {
        a.ForEachNode([&](Node* used) {
          if (used->owner() == &graph) fn(used);
        });
      }
    });
  }
}

}  // namespace

std::string GraphToDot(const Graph& graph, const DotOptions& options) {
  std::vector<Box> boxes;
  absl::flat_hash_map<const Node*, int> box_of;
  std::map<std::string, int> group_box;  // collapsed module path -> box
  std::map<std::string, Cluster> clusters{{"", Cluster{}}};
  std::map<std::string, int> cluster_ids;

  // Registers the clusters of `container` and returns the innermost's path.
  auto enter = [&](const std::vector<std::string>& container) {
    std::string parent;
    for (size_t i = 0; i < container.size(); ++i) {
      std::string path = absl::StrJoin(container.begin(), container.begin() + i + 1, ".");
      if (clusters.emplace(path, Cluster{.path = path}).second) {
        clusters[parent].children.push_back(path);
        cluster_ids.emplace(path, static_cast<int>(cluster_ids.size()));
      }
      parent = path;
    }
    return parent;
  };

  for (const auto& node : graph.nodes()) {
    const Node& n = *node;
    std::vector<std::string> container = Container(n);
    bool collapse = options.depth > 0 && container.size() >= static_cast<size_t>(options.depth);
    int b;
    if (collapse) {
      container.resize(options.depth);
      std::string group = absl::StrJoin(container, ".");
      auto [it, inserted] = group_box.try_emplace(group, static_cast<int>(boxes.size()));
      if (inserted) {
        container.pop_back();
        boxes.push_back({.id = absl::StrCat("m", group_box.size() - 1), .container = container});
        clusters[enter(container)].boxes.push_back(it->second);
      }
      b = it->second;
    } else {
      b = static_cast<int>(boxes.size());
      std::string label = n.op() == OpCode::kOutput ? "output" : n.name();
      std::string callee = Callee(n);
      if (!callee.empty()) absl::StrAppend(&label, "\n", callee);
      boxes.push_back({.id = absl::StrCat("n", graph.IndexOf(&n)),
                       .container = container,
                       .label = std::move(label)});
      clusters[enter(container)].boxes.push_back(b);
    }
    box_of[&n] = b;
    Box& box = boxes[b];
    ++box.nodes;
    bool kept = !options.kept.has_value() ||
                (n.op() != OpCode::kOutput && options.kept->count(n.name()) > 0);
    if (!kept) ++box.pruned;
    if (auto keys = options.output_keys.find(n.name());
        n.op() != OpCode::kOutput && keys != options.output_keys.end()) {
      box.keys.insert(box.keys.end(), keys->second.begin(), keys->second.end());
    }
  }
  for (const auto& [group, b] : group_box) {
    boxes[b].label =
        absl::StrCat(group, "\n(", boxes[b].nodes, boxes[b].nodes == 1 ? " node)" : " nodes)");
  }
  for (Box& box : boxes) {
    if (!box.keys.empty()) absl::StrAppend(&box.label, "\n=> ", absl::StrJoin(box.keys, ", "));
  }

  std::string out = "digraph featx {\n";
  // Tight spacing: resnet18 at depth 2 fits one screen.
  absl::StrAppend(
      &out, "  graph [rankdir=TB, ranksep=0.2, nodesep=0.2, fontname=\"Helvetica\", fontsize=11",
      options.title.empty() ? "" : absl::StrCat(", label=", Quote(options.title)), "];\n");
  absl::StrAppend(&out,
                  "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", "
                  "fontname=\"Helvetica\", fontsize=10, margin=\"0.1,0.02\", height=0.3];\n"
                  "  edge [color=\"#616161\", arrowsize=0.6];\n");
  EmitCluster("", clusters, boxes, cluster_ids, 2, &out);

  // Edges between boxes, once each, in node order.
  std::vector<std::pair<int, int>> edges;
  std::set<std::pair<int, int>> seen;
  for (const auto& node : graph.nodes()) {
    int to = box_of[node.get()];
    ForEachInput(*node, graph, [&](Node* used) {
      auto from = box_of.find(used);
      if (from == box_of.end() || from->second == to) return;
      if (seen.insert({from->second, to}).second) edges.emplace_back(from->second, to);
    });
  }
  for (const auto& [from, to] : edges) {
    const Box& target = boxes[to];
    bool pruned = target.nodes > 0 && target.pruned == target.nodes;
    absl::StrAppend(&out, "  ", boxes[from].id, " -> ", target.id,
                    pruned ? " [color=\"#bdbdbd\", style=dashed]" : "", ";\n");
  }
  return out + "}\n";
}

}  // namespace featx
