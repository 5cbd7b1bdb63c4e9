// literal.h (internal to //graph)
//
// The bare words the two text readers share, the graph text form (text.cc)
// and the schema text (schema.cc): numbers, None, booleans, inf and nan.
//
//   absl::string_view rest = "1], x";
//   std::string word = TakeWord(&rest, ",()[]");    // "1"; rest is "], x"
//   ScalarFromWord(word, {.true_word = "True"})     // Argument::Int(1)

#ifndef FEATX_GRAPH_LITERAL_H_
#define FEATX_GRAPH_LITERAL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace featx {

// How deep the text readers (types, arguments, schema defaults) let values
// nest. They recurse, so input like "((((..." must be an error, not a stack
// overflow (//fuzz:graph_text_fuzzer found both); and one bound for all of
// them keeps what one prints readable by the others.
inline constexpr int kMaxNesting = 100;

// Removes and returns the word at the start of `*rest`: up to the first space
// or character of `stops`.
std::string TakeWord(absl::string_view* rest, absl::string_view stops);

// How booleans are spelled: "true" in the graph text form, "True" in schemas.
struct WordSpelling {
  absl::string_view true_word = "true";
  absl::string_view false_word = "false";
};

// The literal a bare word stands for: None, a boolean, inf, -inf, nan, an int
// (no '.', 'e' or 'E'), or a double ("1." included). nullopt for anything else.
std::optional<Argument> ScalarFromWord(absl::string_view word, WordSpelling spelling = {});

}  // namespace featx

#endif  // FEATX_GRAPH_LITERAL_H_
