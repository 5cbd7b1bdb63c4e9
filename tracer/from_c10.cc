#include "tracer/from_c10.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace featx {

namespace {

absl::StatusOr<Argument> ListLiteral(const std::vector<c10::IValue>& values, bool tuple) {
  std::vector<Argument> elements;
  elements.reserve(values.size());
  for (const c10::IValue& e : values) {
    ASSIGN_OR_RETURN(Argument a, LiteralFromIValue(e));
    elements.push_back(std::move(a));
  }
  return tuple ? Argument::Tuple(std::move(elements)) : Argument::List(std::move(elements));
}

// LibTorch keeps alias sets in an unordered_set and prints them in its
// iteration order; the same order here prints the same text.
std::vector<std::string> SetNames(const std::unordered_set<c10::Symbol>& sets) {
  std::vector<std::string> names;
  for (const c10::Symbol& s : sets) names.push_back(s.toUnqualString());
  return names;
}

AliasAnnotation Annotation(const c10::AliasInfo& info) {
  AliasAnnotation a{.before_sets = SetNames(info.beforeSets()),
                    .after_sets = SetNames(info.afterSets()),
                    .is_write = info.isWrite()};
  // Equal sets may iterate in another order; the schema text says "(b|a)".
  if (info.beforeSets() == info.afterSets()) a.after_sets = a.before_sets;
  return a;
}

absl::StatusOr<SchemaArgument> ArgumentFromC10(const c10::Argument& arg, bool is_return) {
  SchemaArgument a{
      .name = arg.name(), .type = TypeFromC10(arg.real_type()), .kwarg_only = arg.kwarg_only()};
  if (arg.N().has_value()) a.list_size = *arg.N();
  if (arg.default_value().has_value()) {
    absl::StatusOr<Argument> d = LiteralFromIValue(*arg.default_value());
    if (!d.ok()) {
      return absl::UnimplementedError(absl::StrCat("the default of ", is_return ? "return " : "",
                                                   "argument '", arg.name(),
                                                   "': ", d.status().message()));
    }
    a.default_value = *std::move(d);
  }
  if (const c10::AliasInfo* info = arg.alias_info(); info != nullptr) {
    // A list's annotation without sets of its own only marks its elements'
    // ("Tensor(a!)[]"), which element_alias holds.
    if (!info->beforeSets().empty()) a.alias = Annotation(*info);
    if (!info->containedTypes().empty()) a.element_alias = Annotation(info->containedTypes()[0]);
  }
  return a;
}

}  // namespace

Type TypeFromC10(const c10::TypePtr& type) {
  using K = c10::TypeKind;
  auto contained = [&type]() {
    std::vector<Type> types;
    for (const c10::TypePtr& t : type->containedTypes()) types.push_back(TypeFromC10(t));
    return types;
  };
  switch (type->kind()) {
    case K::TensorType:
      return Type::Tensor();
    case K::IntType:
      return Type::Int();
    case K::SymIntType:
      return Type::Leaf(Type::Kind::kSymInt);
    case K::FloatType:
      return Type::Float();
    case K::ComplexType:
      return Type::Leaf(Type::Kind::kComplex);
    case K::BoolType:
      return Type::Bool();
    case K::StringType:
      return Type::Str();
    case K::NoneType:
      return Type::None();
    case K::DeviceObjType:
      return Type::Device();
    case K::NumberType:
      return Type::Leaf(Type::Kind::kScalar);
    case K::ScalarTypeType:
      return Type::Leaf(Type::Kind::kScalarType);
    case K::LayoutType:
      return Type::Leaf(Type::Kind::kLayout);
    case K::MemoryFormatType:
      return Type::Leaf(Type::Kind::kMemoryFormat);
    case K::GeneratorType:
      return Type::Leaf(Type::Kind::kGenerator);
    case K::AnyType:
      return Type::Leaf(Type::Kind::kAny);
    case K::ListType:
      return Type::List(TypeFromC10(type->containedType(0)));
    case K::OptionalType:
      return Type::Optional(TypeFromC10(type->containedType(0)));
    case K::TupleType:
      if (type->expectRef<c10::TupleType>().name().has_value()) {  // a NamedTuple
        return Type::Named(type->annotation_str());
      }
      return Type::Tuple(contained());
    case K::DictType:
      return Type::Dict(TypeFromC10(type->containedType(0)), TypeFromC10(type->containedType(1)));
    case K::FutureType:
      return Type::Future(TypeFromC10(type->containedType(0)));
    case K::UnionType:
      return Type::Union(contained());
    case K::VarType:
      return Type::Var(type->expectRef<c10::VarType>().name());
    default:
      return Type::Named(type->str());
  }
}

absl::StatusOr<OperatorSchema> SchemaFromC10(const c10::FunctionSchema& schema) {
  OperatorSchema s{.name = schema.name(),
                   .overload = schema.overload_name(),
                   .is_vararg = schema.is_vararg(),
                   .is_varret = schema.is_varret()};
  for (const c10::Argument& arg : schema.arguments()) {
    ASSIGN_OR_RETURN(SchemaArgument a, ArgumentFromC10(arg, /*is_return=*/false));
    s.arguments.push_back(std::move(a));
  }
  for (const c10::Argument& ret : schema.returns()) {
    ASSIGN_OR_RETURN(SchemaArgument r, ArgumentFromC10(ret, /*is_return=*/true));
    s.returns.push_back(std::move(r));
  }
  return s;
}

absl::StatusOr<Argument> LiteralFromIValue(const c10::IValue& v) {
  if (v.isNone() || v.tagKind() == "Uninitialized") return Argument::None();
  if (v.isBool()) return Argument::Bool(v.toBool());
  if (v.isInt()) return Argument::Int(v.toInt());
  if (v.isDouble()) return Argument::Double(v.toDouble());
  if (v.isString()) return Argument::String(v.toStringRef());
  if (v.isDevice()) return Argument::Device(v.toDevice().str());
  if (v.isList()) return ListLiteral(v.toListRef().vec(), /*tuple=*/false);
  if (v.isTuple()) return ListLiteral(v.toTupleRef().elements().vec(), /*tuple=*/true);
  return absl::UnimplementedError(
      absl::StrCat("a constant of type ", v.tagKind(), " cannot be an argument"));
}

}  // namespace featx
