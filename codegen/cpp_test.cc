// Golden tests for the C++ emitter: small text graphs in, exact C++ out.
//
// The expected files are codegen/testdata/<case>.{h,cc}.golden. To regenerate
// them after an intended change (a file is rewritten only if it changed):
//   ./bazelw run //codegen:cpp_test -- --update_goldens

#include "codegen/cpp.h"

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "graph/text.h"
#include "gtest/gtest.h"
#include "naming/naming.h"
#include "pruning/dead_code.h"

namespace featx {
namespace {

using ::testing::HasSubstr;

bool update_goldens = false;

struct Case {
  std::string name;
  std::string graph;
  std::vector<std::string> keys;
  std::map<std::string, OperatorInfo> operators;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::map<std::string, OperatorInfo>& Schemas() {
  static const auto* schemas = new std::map<std::string, OperatorInfo>{
      {"aten::conv2d",
       {"aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1, "
        "int[2] padding=0, int[2] dilation=1, int groups=1) -> Tensor",
        true}},
      {"aten::relu_", {"aten::relu_(Tensor(a!) self) -> Tensor(a!)", true}},
      {"aten::add.Tensor",
       {"aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", true}},
      {"aten::view", {"aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)", true}},
      {"aten::size", {"aten::size(Tensor self) -> int[]", false}},
      {"aten::__getitem__.t", {"aten::__getitem__.t(t[](a) list, int idx) -> t(*)", false}},
      {"aten::floordiv.int", {"aten::floordiv.int(int a, int b) -> int", false}},
      {"aten::dim", {"aten::dim(Tensor self) -> int", false}},
      {"aten::ne.int", {"aten::ne.int(int a, int b) -> bool", false}},
      {"aten::format", {"aten::format(str self, ...) -> str", false}},
      {"prim::RaiseException", {"prim::RaiseException(str msg, str? cls=None) -> ()", false}},
      // Builtins lowered through the table in builtins.cc.
      {"aten::dict", {"aten::dict() -> Dict(str, Tensor)", false}},
      {"aten::_set_item.str",
       {"aten::_set_item.str(Dict(str, t)(a!) l, str(b -> *) idx, t(c -> *) v) -> ()", false}},
      {"aten::__getitem__.Dict_str",
       {"aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t(*)", false}},
      {"aten::numel", {"aten::numel(Tensor self) -> int", false}},
      {"prim::max.self_int", {"prim::max.self_int(int[] self) -> int", false}},
      {"prim::min.int_float", {"prim::min.int_float(int a, float b) -> float", false}},
      {"prim::max.float", {"prim::max.float(float a, float b) -> float", false}},
      {"aten::floor.float", {"aten::floor.float(float a) -> int", false}},
      {"aten::mul.float", {"aten::mul.float(float a, float b) -> float", false}},
      {"aten::Float.int", {"aten::Float.int(int a) -> float", false}},
      {"aten::gt.float_int", {"aten::gt.float_int(float a, int b) -> bool", false}},
      // No typed form: called boxed.
      {"aten::log.float", {"aten::log.float(float a) -> float", false}},
      {"torchvision::nms",
       {"torchvision::nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor", false,
        true}},
      {"aten::upsample_nearest2d.vec",
       {"aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? "
        "scale_factors) -> Tensor",
        true, true}},
      {"aten::max.dim",
       {"aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor "
        "indices)",
        true, true}},
      {"prim::Frobnicate", {"prim::Frobnicate(Tensor x, int[] s) -> (Tensor, int)", false}},
      {"aten::chunk",
       {"aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]", true, true}},
  };
  return *schemas;
}

std::vector<Case> Cases() {
  return {
      {"conv_relu",
       R"g(%0 = placeholder x : Tensor
%1 = call_module conv(%0) : Tensor class=__torch__.torch.nn.modules.conv.Conv2d {
  %2 = get_attr conv.weight : Tensor scope=conv
  %3 = get_attr conv.bias : Tensor scope=conv
  %4 = call_function aten::conv2d(%0, %2, %3, [1, 1], [1, 1], [1, 1], 1) : Tensor scope=conv
  output(%4)
}
%5 = call_module relu(%1) : Tensor class=__torch__.torch.nn.modules.activation.ReLU mutates=0 alias_of=0 {
  %6 = call_function aten::relu_(%1) : Tensor scope=relu mutates=0 alias_of=0
  output(%6)
}
%7 = call_function aten::add.Tensor(%5, %0, 1) : Tensor
output(%1, %7)
)g",
       {"conv", "sum"},
       Schemas()},
      {"shape_checks",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::ne.int(%1, 4) : bool
%3 = if(%2) : NoneType {
  %4 = call_function aten::format("expected 4D input (got {}D input)", %1) : str
  %5 = call_function prim::RaiseException(%4, "builtins.ValueError") : NoneType
  output()
} {
  output()
}
%6 = call_function aten::size(%0) : int[]
%7 = call_function aten::__getitem__.t(%6, -1) : int
%8 = call_function aten::floordiv.int(%7, 2) : int
%9 = call_function aten::view(%0, [%8, -1]) : Tensor alias_of=0
output(%9)
)g",
       {"flat"},
       Schemas()},
      {"loop",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::size(%0) : int[]
%2 = call_function aten::__getitem__.t(%1, 0) : int
%3 = loop(%2, true, %0) : Tensor {
  %4 = placeholder i : int
  %5 = placeholder y : Tensor
  %6 = call_function aten::add.Tensor(%5, %0, 1) : Tensor
  output(true, %6)
}
output(%3)
)g",
       {"sum"},
       Schemas()},
      // Names and keys from the model are untrusted: comments, string
      // literals and identifiers must stay well-formed.
      {"hostile_names",
       R"g(%0 = placeholder "class" : Tensor
%1 = call_module "we*/ird\n0mod"(%0) : Tensor class=__torch__.torch.nn.modules.activation.ReLU {
  %2 = call_function aten::relu_(%0) : Tensor scope="we*/ird\n0mod" mutates=0 alias_of=0
  output(%2)
}
output(%1, %1, %1)
)g",
       {"a\"b\\c */ d", "a-b", "a_b"},
       Schemas()},
      // Dicts (a segmentation head's `result["out"] = ...`), sizes and
      // scalar max/min/floor from the table of builtin lowerings.
      {"builtins",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::dict() : "Dict[str, Tensor]"
%2 = call_function aten::_set_item.str(%1, "out", %0) : NoneType mutates=0
%3 = call_function aten::__getitem__.Dict_str(%1, "out") : Tensor alias_of=0
%4 = call_function aten::numel(%3) : int
%5 = call_function aten::size(%0) : int[]
%6 = call_function prim::max.self_int(%5) : int
%7 = call_function prim::min.int_float(%6, 2.5) : float
%8 = call_function aten::Float.int(%4) : float
%9 = call_function prim::max.float(%7, %8) : float
%10 = call_function aten::floor.float(%9) : int
%11 = call_function aten::view(%3, [%10, -1]) : Tensor alias_of=0
output(%11)
)g",
       {"flat"},
       Schemas()},
      // Operators with no typed form go through LibTorch's registries: a JIT
      // builtin, another library's dispatcher operator, an ATen operator
      // whose optional list arrives as a value, several results.
      {"boxed",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::size(%0) : int[]
%2 = call_function aten::__getitem__.t(%1, 0) : int
%3 = call_function aten::Float.int(%2) : float
%4 = call_function aten::log.float(%3) : float
%5 = call_function aten::mul.float(%4, 2.0) : float
%13 = call_function aten::ne.int(%2, 0) : bool
%6 = if(%13) : "Optional[List[float]]" {
  output([%5, %5])
} {
  output(None)
}
%7 = call_function aten::upsample_nearest2d.vec(%0, None, %6) : Tensor
%8 = call_function aten::max.dim(%7, 1, false) : "(Tensor, Tensor)"
%9 = call_function prim::TupleIndex(%8, 0) : Tensor
%10 = call_function torchvision::nms(%9, %9, 0.5) : Tensor
%11 = call_function prim::Frobnicate(%10, [1, 2]) : "(Tensor, int)"
%12 = call_function prim::TupleIndex(%11, 0) : Tensor
output(%12)
)g",
       {"out"},
       Schemas()},
      // Return nodes that are not tensors: the struct keeps their types and
      // ToDict flattens them to "d.<subkey>", "t.0", "l.0", ...
      {"nontensor_outputs",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::dict() : "Dict[str, Tensor]"
%2 = call_function aten::_set_item.str(%1, "a", %0) : NoneType mutates=0
%3 = call_function aten::max.dim(%0, 1, false) : "(Tensor, Tensor)"
%4 = call_function aten::chunk(%0, 2, 0) : List[Tensor] alias_of=0
output(%1, %3, %4, %0)
)g",
       {"d", "t", "i", "x"},
       Schemas()},
      // A mixed float/int comparison (`x.dim() * 0.5 > 1`): one row of the
      // lowering table.
      {"mixed_compare",
       R"g(%0 = placeholder x : Tensor
%1 = call_function aten::dim(%0) : int
%2 = call_function aten::Float.int(%1) : float
%3 = call_function aten::mul.float(%2, 0.5) : float
%4 = call_function aten::gt.float_int(%3, 1) : bool
%5 = if(%4) : NoneType {
  %6 = call_function prim::RaiseException("too many dimensions", None) : NoneType
  output()
} {
  output()
}
%7 = call_function aten::relu_(%0) : Tensor mutates=0 alias_of=0
output(%7)
)g",
       {"relu"},
       Schemas()},
  };
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void CheckGolden(const std::string& file, const std::string& actual) {
  std::string relative = "codegen/testdata/" + file;
  if (update_goldens) {
    std::string path = std::string(std::getenv("BUILD_WORKSPACE_DIRECTORY")) + "/" + relative;
    if (Read(path) != actual) {
      std::ofstream(path, std::ios::binary) << actual;
      std::cout << "updated " << relative << "\n";
    }
    return;
  }
  EXPECT_EQ(Read(relative), actual)
      << relative << " differs; if the change is intended, regenerate with\n"
      << "  ./bazelw run //codegen:cpp_test -- --update_goldens";
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, EmitsExactlyTheGoldenSource) {
  const Case& c = GetParam();
  absl::StatusOr<std::unique_ptr<Graph>> graph = ParseGraph(c.graph);
  ASSERT_TRUE(graph.ok()) << graph.status();
  ASSERT_TRUE(EliminateDeadCode(**graph).ok());  // as the pipeline does
  NameNodes(**graph);
  std::vector<std::string> weights;
  ForEachNodeRecursive(**graph, [&](Node* n) {
    if (n->op() == OpCode::kGetAttr) weights.push_back(n->target());
  });
  std::sort(weights.begin(), weights.end());
  CppExtractorInput input{.graph = graph->get(),
                          .keys = c.keys,
                          .class_name = "TestFeatures",
                          .namespace_name = "featx_test::generated",
                          .model_file = c.name + ".pt",
                          .stem = c.name,
                          .operators = c.operators,
                          .weights = weights};
  absl::StatusOr<CppSource> source = EmitCppExtractor(input);
  ASSERT_TRUE(source.ok()) << source.status();
  CheckGolden(c.name + ".h.golden", source->header);
  CheckGolden(c.name + ".cc.golden", source->source);
  // Deterministic: a second run gives the same bytes.
  absl::StatusOr<CppSource> again = EmitCppExtractor(input);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->header, source->header);
  EXPECT_EQ(again->source, source->source);
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// A registered operator always has a boxed form, except a variadic one
// (its JIT implementation needs the node).
TEST(EmitCppExtractorTest, UnknownOperatorNamesNodeAndOp) {
  absl::StatusOr<std::unique_ptr<Graph>> graph = ParseGraph(R"g(%0 = placeholder x : Tensor
%1 = call_function prim::Frobnicate(%0, %0) : Tensor
output(%1)
)g");
  ASSERT_TRUE(graph.ok());
  NameNodes(**graph);
  CppExtractorInput input{
      .graph = graph->get(),
      .keys = {"f"},
      .class_name = "F",
      .namespace_name = "n",
      .stem = "f",
      .operators = {{"prim::Frobnicate", {"prim::Frobnicate(Tensor x, ...) -> Tensor", false}}}};
  absl::StatusOr<CppSource> source = EmitCppExtractor(input);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("node 'Frobnicate'"));
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("prim::Frobnicate"));
}

TEST(EmitCppExtractorTest, LeafWithoutBodyIsUnimplemented) {
  absl::StatusOr<std::unique_ptr<Graph>> graph = ParseGraph(R"g(%0 = placeholder x : Tensor
%1 = call_module conv(%0) : Tensor
output(%1)
)g");
  ASSERT_TRUE(graph.ok());
  NameNodes(**graph);
  CppExtractorInput input{
      .graph = graph->get(), .keys = {"f"}, .class_name = "F", .namespace_name = "n", .stem = "f"};
  absl::StatusOr<CppSource> source = EmitCppExtractor(input);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("node 'conv'"));
}

TEST(SnakeCaseTest, KeepsModelNamesTogether) {
  EXPECT_EQ(SnakeCase("ResNet18Features"), "resnet18_features");
  EXPECT_EQ(SnakeCase("SeedCnnFeatures"), "seed_cnn_features");
  EXPECT_EQ(SnakeCase("MobileNetV3Features"), "mobilenet_v3_features");
  EXPECT_EQ(SnakeCase("EfficientNetB0Features"), "efficientnet_b0_features");
  EXPECT_EQ(SnakeCase("SwinTFeatures"), "swin_t_features");
  EXPECT_EQ(SnakeCase("HTTPServer"), "http_server");
}

TEST(NamespaceTest, SanitizesUntrustedNames) {
  Namespace ns;
  EXPECT_EQ(ns.Unique("layer1.0.conv1"), "layer1_0_conv1");
  EXPECT_EQ(ns.Unique("class"), "class_");
  EXPECT_EQ(ns.Unique("0bad"), "v0bad");
  EXPECT_EQ(ns.Unique("we-ird"), "we_ird");
  EXPECT_EQ(ns.Unique("we_ird"), "we_ird_2");  // clash after sanitizing
  EXPECT_EQ(ns.Unique("\xc3\xbcnicode"), "nicode");
  EXPECT_EQ(ns.Unique("a__b"), "a_b");  // no reserved double underscore
  EXPECT_EQ(ns.Unique("_Upper"), "Upper");
  EXPECT_EQ(ns.Unique(""), "v");
}

}  // namespace
}  // namespace featx

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--update_goldens") == 0) featx::update_goldens = true;
  }
  if (featx::update_goldens && std::getenv("BUILD_WORKSPACE_DIRECTORY") == nullptr) {
    std::cerr << "--update_goldens works under `bazel run` only\n";
    return 2;
  }
  return RUN_ALL_TESTS();
}
