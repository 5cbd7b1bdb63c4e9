#include "graph/type.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "graph/literal.h"

namespace featx {

namespace {

struct LeafName {
  Type::Kind kind;
  absl::string_view name;  // the one printed
};

// Both spellings print these names; "None" and "number" also parse.
constexpr LeafName kLeafNames[] = {
    {Type::Kind::kTensor, "Tensor"},
    {Type::Kind::kInt, "int"},
    {Type::Kind::kSymInt, "SymInt"},
    {Type::Kind::kFloat, "float"},
    {Type::Kind::kComplex, "complex"},
    {Type::Kind::kBool, "bool"},
    {Type::Kind::kStr, "str"},
    {Type::Kind::kNone, "NoneType"},
    {Type::Kind::kDevice, "Device"},
    {Type::Kind::kScalar, "Scalar"},
    {Type::Kind::kScalarType, "ScalarType"},
    {Type::Kind::kLayout, "Layout"},
    {Type::Kind::kMemoryFormat, "MemoryFormat"},
    {Type::Kind::kGenerator, "Generator"},
    {Type::Kind::kAny, "Any"},
};

absl::string_view LeafTypeName(Type::Kind kind) {
  for (const LeafName& leaf : kLeafNames) {
    if (leaf.kind == kind) return leaf.name;
  }
  return "";
}

std::string JoinTypes(const std::vector<Type>& types, bool schema) {
  return absl::StrJoin(types, ", ", [schema](std::string* out, const Type& t) {
    absl::StrAppend(out, schema ? t.ToSchemaString() : t.ToString());
  });
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

class TypeParser {
 public:
  explicit TypeParser(absl::string_view* text) : text_(text) {}

  absl::StatusOr<Type> Full() {
    // Types nest by recursion: bound it, so "((((..." is an error, not a
    // stack overflow (found by //fuzz:graph_text_fuzzer).
    if (depth_ >= kMaxNesting) return Error("type nested too deeply");
    ++depth_;
    absl::StatusOr<Type> t = Base();
    if (t.ok()) t = Suffixes(*std::move(t));
    --depth_;
    return t;
  }

  // Height of a type's tree: 1 for a leaf. Suffixes nest without recursing
  // ("T???" is Optional[Optional[Optional[T]]]), so the bound checks it too.
  static int Height(const Type& t) {
    int h = 0;
    for (const Type& c : t.contained()) h = std::max(h, Height(c));
    return h + 1;
  }

  absl::StatusOr<Type> Suffixes(Type t) {
    // Suffixes follow the type directly: "Tensor?[]", not "Tensor ?". Each
    // one nests the type a level deeper, and the printed form nests by
    // recursion (Optional[...]), so suffixes count toward the bound too.
    int height = depth_ - 1 + Height(t);
    while (true) {
      bool optional = absl::StartsWith(*text_, "?");
      // "[]" or "[N]"; not "[" followed by anything else.
      size_t n = 1;
      while (n < text_->size() && absl::ascii_isdigit(static_cast<unsigned char>((*text_)[n]))) ++n;
      bool list = absl::StartsWith(*text_, "[") && n < text_->size() && (*text_)[n] == ']';
      if (!optional && !list) return t;
      if (++height > kMaxNesting) return Error("type nested too deeply");
      text_->remove_prefix(optional ? 1 : n + 1);
      t = optional ? Type::Optional(std::move(t)) : Type::List(std::move(t));
    }
  }

  absl::StatusOr<Type> Base() {
    SkipSpace();
    if (Consume("(")) {
      ASSIGN_OR_RETURN(std::vector<Type> elements, List(')'));
      return Type::Tuple(std::move(elements));
    }
    size_t n = 0;
    while (n < text_->size() && IsNameChar((*text_)[n])) ++n;
    // A name starts with a letter or '_' ("2" is no type: Optional[2] would
    // print as a sized list's suffix and not read back).
    if (n == 0 || absl::ascii_isdigit(static_cast<unsigned char>((*text_)[0])) ||
        (*text_)[0] == '.') {
      return Error("expected a type");
    }
    std::string name(text_->substr(0, n));
    text_->remove_prefix(n);
    char open = 0;
    if (!text_->empty() && ((*text_)[0] == '[' || (*text_)[0] == '(')) open = (*text_)[0];
    bool square = open == '[' && !absl::StartsWith(*text_, "[]") && !IsSizedList();
    if (name == "List" || name == "Optional" || name == "Tuple" || name == "Dict" ||
        name == "Union" || name == "Future") {
      // Constructors: List[T], Dict[K, V] or Dict(K, V), ...
      if (!square && open != '(') return Error(absl::StrCat("expected '[' after ", name));
      text_->remove_prefix(1);
      char close = square ? ']' : ')';
      if (name == "Tuple" && Consume("()")) {  // Tuple[()], the empty tuple
        RETURN_IF_ERROR(Expect(close));
        return Type::Tuple({});
      }
      ASSIGN_OR_RETURN(std::vector<Type> args, List(close));
      return Construct(name, std::move(args));
    }
    for (const LeafName& leaf : kLeafNames) {
      if (leaf.name == name) return Type::Leaf(leaf.kind);
    }
    if (name == "None") return Type::None();
    if (name == "number") return Type::Leaf(Type::Kind::kScalar);
    if (absl::ascii_islower(static_cast<unsigned char>(name[0])) &&
        name.find('.') == std::string::npos) {
      return Type::Var(std::move(name));
    }
    return Type::Named(std::move(name));
  }

 private:
  bool IsSizedList() const {  // "[2]"
    size_t n = 1;
    while (n < text_->size() && absl::ascii_isdigit(static_cast<unsigned char>((*text_)[n]))) ++n;
    return n > 1 && n < text_->size() && (*text_)[n] == ']';
  }

  absl::StatusOr<Type> Construct(const std::string& name, std::vector<Type> args) {
    auto arity = [&](size_t want) -> absl::Status {
      if (args.size() == want) return absl::OkStatus();
      return Error(absl::StrCat(name, " takes ", want, " type(s), not ", args.size()));
    };
    if (name == "Tuple") return Type::Tuple(std::move(args));
    if (name == "Union") {
      if (args.size() < 2) return Error("Union takes at least two types");
      return Type::Union(std::move(args));
    }
    if (name == "Dict") {
      RETURN_IF_ERROR(arity(2));
      return Type::Dict(std::move(args[0]), std::move(args[1]));
    }
    RETURN_IF_ERROR(arity(1));
    if (name == "List") return Type::List(std::move(args[0]));
    if (name == "Optional") return Type::Optional(std::move(args[0]));
    return Type::Future(std::move(args[0]));
  }

  // Types separated by ',' up to and including `close`.
  absl::StatusOr<std::vector<Type>> List(char close) {
    std::vector<Type> types;
    if (Consume(absl::string_view(&close, 1))) return types;
    while (true) {
      ASSIGN_OR_RETURN(Type t, Full());
      types.push_back(std::move(t));
      if (Consume(absl::string_view(&close, 1))) return types;
      RETURN_IF_ERROR(Expect(','));
    }
  }

  void SkipSpace() { *text_ = absl::StripLeadingAsciiWhitespace(*text_); }
  bool Consume(absl::string_view prefix) {
    SkipSpace();
    return absl::ConsumePrefix(text_, prefix);
  }
  absl::Status Expect(char c) {
    if (Consume(absl::string_view(&c, 1))) return absl::OkStatus();
    return Error(absl::StrCat("expected '", absl::string_view(&c, 1), "'"));
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bad type: ", what, " at '", text_->substr(0, 30), "'"));
  }

  absl::string_view* text_;
  int depth_ = 0;
};

}  // namespace

Type Type::List(Type element) {
  Type t(Kind::kList);
  t.contained_.push_back(std::move(element));
  return t;
}

Type Type::Optional(Type element) {
  Type t(Kind::kOptional);
  t.contained_.push_back(std::move(element));
  return t;
}

Type Type::Tuple(std::vector<Type> elements) {
  Type t(Kind::kTuple);
  t.contained_ = std::move(elements);
  return t;
}

Type Type::Dict(Type key, Type value) {
  Type t(Kind::kDict);
  t.contained_.push_back(std::move(key));
  t.contained_.push_back(std::move(value));
  return t;
}

Type Type::Union(std::vector<Type> members) {
  Type t(Kind::kUnion);
  t.contained_ = std::move(members);
  return t;
}

Type Type::Future(Type element) {
  Type t(Kind::kFuture);
  t.contained_.push_back(std::move(element));
  return t;
}

Type Type::Var(std::string name) {
  Type t(Kind::kVar);
  t.name_ = std::move(name);
  return t;
}

Type Type::Named(std::string name) {
  Type t(Kind::kNamed);
  t.name_ = std::move(name);
  return t;
}

bool Type::IsTensorOrContainerOfTensors() const {
  switch (kind_) {
    case Kind::kTensor:
      return true;
    case Kind::kList:
    case Kind::kTuple:
      return std::all_of(contained_.begin(), contained_.end(),
                         [](const Type& t) { return t.is_tensor(); });
    case Kind::kDict:
      return contained_[1].is_tensor();
    default:
      return false;
  }
}

bool Type::ContainsTensor() const {
  if (is_tensor()) return true;
  return std::any_of(contained_.begin(), contained_.end(),
                     [](const Type& t) { return t.ContainsTensor(); });
}

std::string Type::ToString() const {
  switch (kind_) {
    case Kind::kList:
      return absl::StrCat("List[", element().ToString(), "]");
    case Kind::kOptional:
      return absl::StrCat("Optional[", element().ToString(), "]");
    case Kind::kTuple:
      if (contained_.empty()) return "Tuple[()]";
      return absl::StrCat("Tuple[", JoinTypes(contained_, false), "]");
    case Kind::kDict:
      return absl::StrCat("Dict[", JoinTypes(contained_, false), "]");
    case Kind::kUnion:
      return absl::StrCat("Union[", JoinTypes(contained_, false), "]");
    case Kind::kFuture:
      return absl::StrCat("Future[", element().ToString(), "]");
    case Kind::kVar:
    case Kind::kNamed:
      return name_;
    default:
      return std::string(LeafTypeName(kind_));
  }
}

std::string Type::ToSchemaString() const {
  switch (kind_) {
    case Kind::kList:
      return absl::StrCat(element().ToSchemaString(), "[]");
    case Kind::kOptional:
      return absl::StrCat(element().ToSchemaString(), "?");
    case Kind::kTuple:
      return absl::StrCat("(", JoinTypes(contained_, true), ")");
    case Kind::kDict:
      return absl::StrCat("Dict(", JoinTypes(contained_, true), ")");
    case Kind::kUnion:
      return absl::StrCat("Union(", JoinTypes(contained_, true), ")");
    case Kind::kFuture:
      return absl::StrCat("Future(", element().ToSchemaString(), ")");
    default:
      return ToString();
  }
}

absl::StatusOr<Type> ConsumeType(absl::string_view* text) { return TypeParser(text).Full(); }

absl::StatusOr<Type> ConsumeBaseType(absl::string_view* text) { return TypeParser(text).Base(); }

absl::StatusOr<Type> ParseType(absl::string_view text) {
  absl::string_view rest = text;
  ASSIGN_OR_RETURN(Type t, ConsumeType(&rest));
  if (!absl::StripAsciiWhitespace(rest).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad type '", text, "': unexpected '", absl::StripAsciiWhitespace(rest), "'"));
  }
  return t;
}

}  // namespace featx
