#include "graph/pass_pipeline.h"

#include "absl/strings/str_cat.h"

namespace featx {

std::vector<std::string> PassPipeline::PassNames() const {
  std::vector<std::string> names;
  for (const auto& pass : passes_) names.emplace_back(pass->name());
  return names;
}

absl::StatusOr<bool> PassPipeline::Run(Graph& graph) {
  const bool verify = verification_ == Verification::kAfterEachPass;
  if (verify) {
    if (absl::Status s = Verify(graph); !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("pipeline '", name_, "' got an invalid graph: ", s.message()));
    }
  }
  bool changed = false;
  for (const auto& pass : passes_) {
    absl::StatusOr<bool> pass_changed = pass->Run(graph);
    if (!pass_changed.ok()) return pass_changed.status();
    changed = changed || *pass_changed;
    if (verify) {
      if (absl::Status s = Verify(graph); !s.ok()) {
        return absl::InternalError(absl::StrCat("pass '", pass->name(), "' of pipeline '", name_,
                                                "' left an invalid graph: ", s.message()));
      }
    }
    if (observer_) observer_(*pass, graph, *pass_changed);
  }
  return changed;
}

}  // namespace featx
