#include "naming/select.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace featx {

namespace {

constexpr int kMaxSuggestions = 5;

// Every dotted prefix of every node name ("layer1", "layer1.0",
// "layer1.0.relu"), as a trie whose edges are name components. The trie lives
// in one hash map keyed by (parent prefix, component), so building it hashes
// each name once, and a lookup hashes the query once.
class PrefixIndex {
 public:
  explicit PrefixIndex(const Graph& graph) {
    for (const auto& node : graph.nodes()) {
      if (node->op() == OpCode::kOutput || node->name().empty()) continue;
      Add(node.get());
    }
  }

  // The node named exactly `query`, else the last node with `query` as a
  // dotted prefix of its name, else null.
  Node* Resolve(absl::string_view query) const {
    int id = Find(query);
    if (id < 0) return nullptr;
    return prefixes_[id].exact != nullptr ? prefixes_[id].exact : prefixes_[id].last;
  }

  // Up to `n` prefixes closest to `query` by edit distance; ties go to the one
  // that appears first in the graph.
  std::vector<absl::string_view> Closest(absl::string_view query, int n) const;

 private:
  struct Prefix {
    absl::string_view text;  // points into the first name that has it
    Node* exact = nullptr;   // the node named exactly `text`, if any
    Node* last = nullptr;    // the last node whose name starts with `text`
  };

  void Add(Node* node) {
    absl::string_view name = node->name();
    int id = -1;
    size_t start = 0;
    while (true) {
      size_t dot = name.find('.', start);
      size_t end = dot == absl::string_view::npos ? name.size() : dot;
      auto [it, inserted] = children_.try_emplace({id, name.substr(start, end - start)},
                                                  static_cast<int>(prefixes_.size()));
      if (inserted) prefixes_.push_back({.text = name.substr(0, end)});
      id = it->second;
      Prefix& prefix = prefixes_[id];
      prefix.last = node;
      if (end == name.size()) {
        if (prefix.exact == nullptr) prefix.exact = node;
        return;
      }
      start = end + 1;
    }
  }

  int Find(absl::string_view query) const {
    int id = -1;
    size_t start = 0;
    while (true) {
      size_t dot = query.find('.', start);
      size_t end = dot == absl::string_view::npos ? query.size() : dot;
      auto it = children_.find({id, query.substr(start, end - start)});
      if (it == children_.end()) return -1;
      id = it->second;
      if (end == query.size()) return id;
      start = end + 1;
    }
  }

  absl::flat_hash_map<std::pair<int, absl::string_view>, int> children_;
  std::vector<Prefix> prefixes_;  // in order of first appearance
};

// Levenshtein distance, two rows.
int EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<int> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::vector<absl::string_view> PrefixIndex::Closest(absl::string_view query, int n) const {
  // Truncated names are candidates too: for "layer9" the useful answers are
  // "layer1".."layer4", not whichever full names happen to be short.
  std::vector<std::pair<int, int>> ranked;  // (distance, prefix id)
  ranked.reserve(prefixes_.size());
  for (size_t id = 0; id < prefixes_.size(); ++id) {
    ranked.emplace_back(EditDistance(query, prefixes_[id].text), static_cast<int>(id));
  }
  size_t count = std::min(ranked.size(), static_cast<size_t>(n));
  std::partial_sort(ranked.begin(), ranked.begin() + count, ranked.end());
  std::vector<absl::string_view> result;
  for (size_t i = 0; i < count; ++i) result.push_back(prefixes_[ranked[i].second].text);
  return result;
}

std::string Quoted(absl::string_view s) { return absl::StrCat("'", absl::CEscape(s), "'"); }

absl::Status UnknownQuery(absl::string_view query, const PrefixIndex& index) {
  std::vector<absl::string_view> closest = index.Closest(query, kMaxSuggestions);
  std::string hint =
      closest.empty()
          ? "the graph has no named nodes"
          : absl::StrCat("closest: ",
                         absl::StrJoin(closest, ", ", [](std::string* out, absl::string_view s) {
                           out->append(Quoted(s));
                         }));
  return absl::NotFoundError(absl::StrCat("node ", Quoted(query), " is not in the graph; ", hint,
                                          ". Run `featx nodes MODEL.pt` to see all names"));
}

// Splits "query:key" at the last ':'; a bare "query" is its own key.
absl::StatusOr<std::pair<std::string, std::string>> ParseEntry(absl::string_view entry) {
  size_t colon = entry.rfind(':');
  absl::string_view query = entry.substr(0, colon);
  absl::string_view key = colon == absl::string_view::npos ? entry : entry.substr(colon + 1);
  if (query.empty() || key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("return node ", Quoted(entry), " has an empty ",
                                                   query.empty() ? "query" : "key",
                                                   "; expected \"query\" or \"query:key\""));
  }
  return std::make_pair(std::string(query), std::string(key));
}

constexpr absl::string_view kGlobPrefix = "glob:";

// Matches one character against the set starting at pattern[i] == '[';
// sets *end to the index after ']'. A '[' without a closing ']' is literal.
bool MatchSet(absl::string_view pattern, size_t i, char c, size_t* end) {
  size_t j = i + 1;
  bool negate = j < pattern.size() && pattern[j] == '!';
  if (negate) ++j;
  size_t first = j;
  bool found = false;
  for (; j < pattern.size() && (pattern[j] != ']' || j == first); ++j) {
    if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
      found = found || (pattern[j] <= c && c <= pattern[j + 2]);
      j += 2;
    } else {
      found = found || pattern[j] == c;
    }
  }
  if (j >= pattern.size()) {  // no ']': the '[' is an ordinary character
    *end = i + 1;
    return c == '[';
  }
  *end = j + 1;
  return found != negate;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view name) {
  // Iterative matching with one backtrack point (the last '*'): linear in
  // practice, never exponential.
  size_t p = 0, n = 0;
  size_t star = absl::string_view::npos, star_n = 0;
  while (n < name.size()) {
    size_t next = p + 1;
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
      continue;
    }
    bool one = p < pattern.size() &&
               (pattern[p] == '?' ||
                (pattern[p] == '[' ? MatchSet(pattern, p, name[n], &next) : pattern[p] == name[n]));
    if (one) {
      p = next;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<std::vector<ReturnNode>> SelectOutputs(
    const Graph& graph, const std::vector<std::string>& return_nodes) {
  std::vector<ReturnNode> result;
  result.reserve(return_nodes.size());
  std::vector<size_t> entry_of_result;  // index into return_nodes
  PrefixIndex index(graph);
  for (size_t i = 0; i < return_nodes.size(); ++i) {
    absl::string_view entry = return_nodes[i];
    if (absl::StartsWith(entry, kGlobPrefix)) {
      absl::string_view pattern = entry.substr(kGlobPrefix.size());
      if (pattern.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("return node ", Quoted(entry), " has an empty pattern"));
      }
      size_t before = result.size();
      for (const auto& node : graph.nodes()) {
        if (node->op() == OpCode::kOutput || node->name().empty()) continue;
        if (!GlobMatch(pattern, node->name())) continue;
        result.push_back({.key = node->name(), .query = std::string(entry), .node = node.get()});
        entry_of_result.push_back(i);
      }
      if (result.size() == before) {
        return absl::NotFoundError(absl::StrCat("no node name matches ", Quoted(entry),
                                                ". Run `featx nodes MODEL.pt` to see all names"));
      }
      continue;
    }
    absl::StatusOr<std::pair<std::string, std::string>> parsed = ParseEntry(entry);
    if (!parsed.ok()) return parsed.status();
    result.push_back(
        {.key = std::move(parsed->second), .query = std::move(parsed->first), .node = nullptr});
    entry_of_result.push_back(i);
  }
  absl::flat_hash_map<std::string, size_t> entry_of_key;
  for (size_t r = 0; r < result.size(); ++r) {
    size_t i = entry_of_result[r];
    auto [it, inserted] = entry_of_key.try_emplace(result[r].key, i);
    if (!inserted) {
      std::string by = it->second == i ? absl::StrCat(Quoted(return_nodes[i]), " twice")
                                       : absl::StrCat(Quoted(return_nodes[it->second]), " and by ",
                                                      Quoted(return_nodes[i]));
      return absl::InvalidArgumentError(
          absl::StrCat("output key ", Quoted(result[r].key), " is given twice: by ", by));
    }
  }
  for (ReturnNode& r : result) {
    if (r.node != nullptr) continue;
    r.node = index.Resolve(r.query);
    if (r.node == nullptr) return UnknownQuery(r.query, index);
  }
  return result;
}

absl::StatusOr<std::pair<std::vector<std::string>, std::vector<std::string>>> ReturnNodesPerMode(
    const ReturnNodeSpec& spec) {
  bool both = !spec.return_nodes.empty();
  bool train = !spec.train_return_nodes.empty();
  bool eval = !spec.eval_return_nodes.empty();
  // Same checks, in the same order, as torchvision's create_feature_extractor.
  if (!both && !train && !eval) {
    return absl::InvalidArgumentError(
        "Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, "
        "should be specified");
  }
  if (train != eval) {
    return absl::InvalidArgumentError(
        "If any of `train_return_nodes` and `eval_return_nodes` are specified, then both "
        "should be specified");
  }
  if (both && train) {
    // torchvision repeats the previous message here; this is what it checks.
    return absl::InvalidArgumentError(
        "`return_nodes` should not be specified together with `train_return_nodes` and "
        "`eval_return_nodes`");
  }
  if (both) return std::make_pair(spec.return_nodes, spec.return_nodes);
  return std::make_pair(spec.train_return_nodes, spec.eval_return_nodes);
}

}  // namespace featx
