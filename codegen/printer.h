// printer.h
//
// Builds generated C++ text, as protobuf's io::Printer does: templates with
// $name$ variables and RAII-scoped indentation. Every line the C++ back end
// writes goes through a Printer; nothing indents by hand.
//
//   Printer p;
//   p.Emit({{"var", "relu"}, {"call", "at::relu(x)"}}, "auto $var$ = $call$;\n");
//   {
//     Printer::Indent indent(p);  // two more spaces until the scope ends
//     p.Emit("return 1;\n");
//   }
//   absl::StatusOr<std::string> text = p.Finish();
//
// Rules:
//   - A template is code the emitter spells; a model-supplied string is only
//     ever a value, never a template (values are inserted as they are, never
//     scanned for '$').
//   - "$$" is a literal '$'.
//   - Each non-empty line gets the current indentation, including lines that
//     start inside a multi-line value.
//   - A template that names a variable it was not given (or leaves a '$'
//     unmatched) is a programming error: nothing is written for it, and
//     Finish() returns InternalError naming the variable, so a test catches it.

#ifndef FEATX_CODEGEN_PRINTER_H_
#define FEATX_CODEGEN_PRINTER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace featx {

class Printer {
 public:
  // One $name$ = value binding. Values are strings or integers.
  class Var {
   public:
    Var(absl::string_view name, absl::string_view value) : name_(name), value_(value) {}
    Var(absl::string_view name, const std::string& value) : name_(name), value_(value) {}
    Var(absl::string_view name, const char* value) : name_(name), value_(value) {}
    Var(absl::string_view name, int64_t value) : name_(name), value_(absl::StrCat(value)) {}
    Var(absl::string_view name, int value) : name_(name), value_(absl::StrCat(value)) {}
    Var(absl::string_view name, size_t value) : name_(name), value_(absl::StrCat(value)) {}

    absl::string_view name() const { return name_; }
    const std::string& value() const { return value_; }

   private:
    absl::string_view name_;
    std::string value_;
  };

  // Indents every line written while it lives by `spaces` more.
  class Indent {
   public:
    explicit Indent(Printer& printer, int spaces = 2) : printer_(printer), spaces_(spaces) {
      printer_.indent_ += spaces_;
    }
    ~Indent() { printer_.indent_ -= spaces_; }
    Indent(const Indent&) = delete;
    Indent& operator=(const Indent&) = delete;

   private:
    Printer& printer_;
    int spaces_;
  };

  Printer() = default;
  Printer(const Printer&) = delete;
  Printer& operator=(const Printer&) = delete;

  // Writes `tmpl` with its $name$ variables replaced by `vars`.
  void Emit(std::initializer_list<Var> vars, absl::string_view tmpl);
  void Emit(absl::string_view tmpl) { Emit({}, tmpl); }

  // The text so far, or the first template error.
  absl::StatusOr<std::string> Finish() const;
  absl::Status status() const { return status_; }

 private:
  // Appends text, indenting at the start of each non-empty line.
  void Write(absl::string_view text);

  std::string out_;
  int indent_ = 0;
  bool at_line_start_ = true;
  absl::Status status_;
};

}  // namespace featx

#endif  // FEATX_CODEGEN_PRINTER_H_
