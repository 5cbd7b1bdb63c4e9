#include "codegen/schema.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace featx {

std::string AtenOpsStruct(const OperatorSchema& schema) {
  std::string base = schema.name.substr(schema.name.find("::") + 2);
  return schema.overload.empty() ? base : absl::StrCat(base, "_", schema.overload);
}

std::string AtenOpsHeader(const OperatorSchema& schema) {
  std::string header = schema.name.substr(schema.name.find("::") + 2);
  if (absl::StartsWith(header, "__") && absl::EndsWith(header, "__")) {
    return header.substr(2, header.size() - 4);
  }
  if (absl::EndsWith(header, "_")) header.pop_back();
  return header;
}

bool HasTypedForm(const Node& n, const OperatorSchema& schema) {
  for (size_t i = 0; i < n.args().size() && i < schema.arguments.size(); ++i) {
    const Type& type = schema.arguments[i].type;
    if (type.is_optional() && type.element().is_list() && n.args()[i].is_node()) return false;
  }
  return true;
}

bool IsVariadicCall(const Node& n, const OperatorSchema& schema) {
  return schema.is_vararg || n.args().size() > schema.arguments.size();
}

}  // namespace featx
