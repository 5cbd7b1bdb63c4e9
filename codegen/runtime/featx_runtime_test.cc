// The runtime helpers generated extractors carry, compiled on their own
// against LibTorch. Expected values are Python's (checked with python3):
// -7 // 2 == -4, -7 % 2 == 1, [0, 1, 2, 3, 4][::-2] == [4, 2, 0], ...

#include "codegen/runtime/featx_runtime.h"

#include <ATen/ATen.h>

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace featx_runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(FeatxRuntimeTest, FloorDivAndRemainderArePythons) {
  EXPECT_EQ(FloorDiv(-7, 2), -4);
  EXPECT_EQ(FloorDiv(7, -2), -4);
  EXPECT_EQ(FloorDiv(7, 2), 3);
  EXPECT_EQ(Remainder(-7, 2), 1);
  EXPECT_EQ(Remainder(7, -2), -1);
  EXPECT_THAT(ErrorOf([] { FloorDiv(1, 0); }), HasSubstr("integer division by zero"));
  EXPECT_THAT(ErrorOf([] { Remainder(1, 0); }), HasSubstr("integer modulo by zero"));
}

TEST(FeatxRuntimeTest, ListIndexingTakesNegativeIndices) {
  std::vector<int64_t> list = {0, 1, 2, 3, 4};
  EXPECT_EQ(GetItem(list, -1), 4);
  EXPECT_THAT(ErrorOf([&] { GetItem(list, 5); }), HasSubstr("list index out of range"));
  SetItem(list, -2, 9);
  EXPECT_THAT(list, ElementsAre(0, 1, 2, 9, 4));
}

TEST(FeatxRuntimeTest, SliceListIsPythons) {
  std::vector<int64_t> l = {0, 1, 2, 3, 4};
  EXPECT_THAT(SliceList(l, c10::nullopt, c10::nullopt, -2), ElementsAre(4, 2, 0));
  EXPECT_THAT(SliceList(l, 1, -1, 1), ElementsAre(1, 2, 3));
  EXPECT_THAT(SliceList(l, -10, 10, 1), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(SliceList(l, 3, 1, -1), ElementsAre(3, 2));
  EXPECT_THAT(SliceList(l, c10::nullopt, c10::nullopt, 2), ElementsAre(0, 2, 4));
  EXPECT_THAT(ErrorOf([&] { SliceList(l, 0, 1, 0); }), HasSubstr("slice step cannot be zero"));
}

TEST(FeatxRuntimeTest, ListsAndBools) {
  EXPECT_THAT(ConcatLists<int64_t>({1}, {2, 3}), ElementsAre(1, 2, 3));
  EXPECT_TRUE(Contains({1, 2}, 2));
  EXPECT_FALSE(Contains({1, 2}, 3));
  EXPECT_TRUE(AllOf({true, true}));
  EXPECT_FALSE(AnyOf({false}));
  EXPECT_EQ(ListMax(std::vector<int64_t>{3, 1, 2}), 3);
  EXPECT_EQ(ListMin(std::vector<double>{3, 1, 2}), 1);
  EXPECT_THAT(ErrorOf([] { ListMax(std::vector<int64_t>{}); }),
              HasSubstr("max() arg is an empty sequence"));
}

TEST(FeatxRuntimeTest, StrFindIsPythons) {
  EXPECT_EQ(Find("hello", "l", 0, 5), 2);
  EXPECT_EQ(Find("hello", "l", 3, 5), 3);
  EXPECT_EQ(Find("hello", "l", -2, 5), 3);
  EXPECT_EQ(Find("hello", "z", 0, 5), -1);
  EXPECT_EQ(Find("hello", "lo", 0, 4), -1);
}

TEST(FeatxRuntimeTest, FormatFillsPositionalFields) {
  EXPECT_EQ(Format("a {} b {}", int64_t{1}, std::vector<int64_t>{1, 2}), "a 1 b [1, 2]");
  EXPECT_EQ(Format("{}", c10::optional<int64_t>()), "None");
}

TEST(FeatxRuntimeTest, DictHelpersKeepInsertionOrder) {
  using Pair = std::tuple<std::string, at::Tensor>;
  auto d = DictFromPairs<c10::Dict<std::string, at::Tensor>>(
      std::vector<Pair>{{"b", at::ones({1})}, {"a", at::zeros({1})}, {"b", at::zeros({2})}});
  EXPECT_THAT(DictKeys(d), ElementsAre("b", "a"));
  EXPECT_EQ(DictValues(d)[0].numel(), 2);  // replaced in place
  EXPECT_EQ(DictAt(d, "a").numel(), 1);
  EXPECT_THAT(ErrorOf([&] { DictAt(d, "c"); }), HasSubstr("KeyError: 'c'"));
}

// PrepackedConv2d against at::conv2d (+ relu): XNNPACK for a small
// convolution, oneDNN for a large one, whichever this LibTorch registers.
TEST(FeatxRuntimeTest, PrepackedConvolutionMatchesConv2d) {
  at::manual_seed(0);
  for (int64_t size : {8, 64}) {
    at::Tensor w = at::randn({16, 8, 3, 3});
    at::Tensor b = at::randn({16});
    at::Tensor x = at::randn({2, 8, size, size});
    for (bool relu : {false, true}) {
      PrepackedConv2d conv(w, b, {1, 1}, {1, 1}, {1, 1}, 1, relu);
      at::Tensor want = at::conv2d(x, w, b, {1, 1}, {1, 1}, {1, 1}, 1);
      if (relu) want = want.relu();
      at::Tensor got = conv(x);
      EXPECT_TRUE(got.allclose(want, 1e-4, 1e-4)) << size << " relu " << relu;
      EXPECT_TRUE(conv(x).allclose(got)) << "second call, cached context";
    }
  }
}

TEST(FeatxRuntimeTest, ToNchwCopiesChannelsLastTensors) {
  at::Tensor x = at::randn({2, 3, 4, 5});
  at::Tensor cl = x.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor out = ToNchw(cl);
  EXPECT_TRUE(out.is_contiguous());
  EXPECT_TRUE(out.equal(x));
  EXPECT_TRUE(ToNchw(x).is_same(x));  // already NCHW: returned as is
}

}  // namespace
}  // namespace featx_runtime
