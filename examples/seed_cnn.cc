// The seed document's walkthrough, in C++: list the toy CNN's node names, then
// the names with ConvBlock as a leaf module, then extract the four blocks'
// feature maps and print their shapes.
//
//   ./bazelw run //examples:seed_cnn [-- path/to/seed_cnn.pt]
//
// The model is the seed's CNN(3, 4, 10), scripted at build time by
// //fixtures:seed_cnn.

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "featx.h"
#include "torch/script.h"

namespace {

// Prints a list the way Python prints a list of strings.
void PrintList(const std::vector<std::string>& names) {
  std::cout << "['" << absl::StrJoin(names, "', '") << "']\n";
}

int Fail(const absl::Status& status) {
  std::cerr << "seed_cnn: " << status.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "fixtures/seed_cnn.pt";
  absl::StatusOr<torch::jit::Module> model = featx::LoadModel(path);
  if (!model.ok()) return Fail(model.status());

  // nodes, _ = get_graph_node_names(model)
  absl::StatusOr<featx::NodeNames> names = featx::GetGraphNodeNames(*model, {});
  if (!names.ok()) return Fail(names.status());
  std::cout << "get_graph_node_names(model):\n";
  PrintList(names->train);

  // nodes, _ = get_graph_node_names(model, tracer_kwargs={'leaf_modules': [ConvBlock]})
  featx::TraceOptions leaf_convblock{.leaf_modules = {"ConvBlock"}};
  absl::StatusOr<featx::NodeNames> leaf_names = featx::GetGraphNodeNames(*model, leaf_convblock);
  if (!leaf_names.ok()) return Fail(leaf_names.status());
  std::cout << "\nget_graph_node_names(model, leaf_modules=[ConvBlock]):\n";
  PrintList(leaf_names->train);

  // feature_extractor = create_feature_extractor(
  //     model, return_nodes=['blocks.0', 'blocks.1', 'blocks.2', 'blocks.3'])
  // out = feature_extractor(torch.zeros(1, 3, 32, 32))
  absl::StatusOr<torch::jit::Module> extractor = featx::CreateFeatureExtractor(
      *model, {.return_nodes = {"blocks.0", "blocks.1", "blocks.2", "blocks.3"}});
  if (!extractor.ok()) return Fail(extractor.status());
  c10::IValue out = extractor->forward({torch::zeros({1, 3, 32, 32})});
  std::cout << "\ncreate_feature_extractor(model, return_nodes=['blocks.0', ..., 'blocks.3'])"
               "(torch.zeros(1, 3, 32, 32)):\n";
  for (const auto& item : out.toGenericDict()) {
    std::cout << item.key().toStringRef() << ": ["
              << absl::StrJoin(item.value().toTensor().sizes(), ", ") << "]\n";
  }
  return 0;
}
