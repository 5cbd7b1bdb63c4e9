#include "codegen/printer.h"

namespace featx {

void Printer::Write(absl::string_view text) {
  while (!text.empty()) {
    size_t newline = text.find('\n');
    absl::string_view line = text.substr(0, newline);  // without the '\n'
    if (!line.empty() && at_line_start_) out_.append(static_cast<size_t>(indent_), ' ');
    out_.append(line.data(), line.size());
    if (newline == absl::string_view::npos) {
      at_line_start_ = at_line_start_ && line.empty();
      return;
    }
    out_ += '\n';
    at_line_start_ = true;
    text.remove_prefix(newline + 1);
  }
}

void Printer::Emit(std::initializer_list<Var> vars, absl::string_view tmpl) {
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('$', pos);
    if (open == absl::string_view::npos) {
      Write(tmpl.substr(pos));
      return;
    }
    Write(tmpl.substr(pos, open - pos));
    size_t close = tmpl.find('$', open + 1);
    if (close == absl::string_view::npos) {
      if (status_.ok()) {
        status_ = absl::InternalError(absl::StrCat("unmatched '$' in template: ", tmpl));
      }
      return;
    }
    absl::string_view name = tmpl.substr(open + 1, close - open - 1);
    pos = close + 1;
    if (name.empty()) {
      Write("$");
      continue;
    }
    const Var* found = nullptr;
    for (const Var& v : vars) {
      if (v.name() == name) found = &v;
    }
    if (found == nullptr) {
      if (status_.ok()) {
        status_ = absl::InternalError(
            absl::StrCat("template variable $", name, "$ has no value in: ", tmpl));
      }
      continue;
    }
    Write(found->value());
  }
}

absl::StatusOr<std::string> Printer::Finish() const {
  if (!status_.ok()) return status_;
  return out_;
}

}  // namespace featx
