"""Known failures of the conformance corpus: the one list the tests consult.

(model, check, reason), check being
  names    GetGraphNodeNames differs from torchvision's get_graph_node_names
  values   CreateFeatureExtractor fails or differs from the clone-at-compute
           reference
  codegen  GenerateCppExtractor fails; no C++ is generated for the model (an
           entry here takes the model out of //corpus:codegen_<model>_test)

//corpus:corpus_test fails when a listed check passes, so after a fix, delete
its entry and run `./bazelw run //corpus:table` to update the README.
"""

KNOWN_FAILURES = [
]
