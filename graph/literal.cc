#include "graph/literal.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace featx {

std::string TakeWord(absl::string_view* rest, absl::string_view stops) {
  size_t n = 0;
  while (n < rest->size() && !absl::ascii_isspace(static_cast<unsigned char>((*rest)[n])) &&
         stops.find((*rest)[n]) == absl::string_view::npos) {
    ++n;
  }
  std::string word(rest->substr(0, n));
  rest->remove_prefix(n);
  return word;
}

std::optional<Argument> ScalarFromWord(absl::string_view word, WordSpelling spelling) {
  if (word == "None") return Argument::None();
  if (word == spelling.true_word) return Argument::Bool(true);
  if (word == spelling.false_word) return Argument::Bool(false);
  if (word == "inf") return Argument::Double(HUGE_VAL);
  if (word == "-inf") return Argument::Double(-HUGE_VAL);
  if (word == "nan") return Argument::Double(std::nan(""));
  int64_t i;
  if (word.find_first_of(".eE") == absl::string_view::npos && absl::SimpleAtoi(word, &i)) {
    return Argument::Int(i);
  }
  double d;
  if (absl::EndsWith(word, ".")) word.remove_suffix(1);  // "1."
  if (absl::SimpleAtod(word, &d)) return Argument::Double(d);
  return std::nullopt;
}

}  // namespace featx
