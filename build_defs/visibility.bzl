"""The layer table of docs/ARCHITECTURE.md, as Bazel visibility lists.

Each package's BUILD says who may depend on it:

    load("//build_defs:visibility.bzl", "GRAPH_USERS")
    package(default_visibility = GRAPH_USERS)

The layers, bottom up; a package may depend on its own layer and the layers
below it, never above:

    -  base       //base (status macros), for every layer  no LibTorch
    0  ground     //graph                                  no LibTorch
    1  analysis   //naming //pruning //passes //viz (DOT)
                  //codegen (the C++ emitter :cpp, :manifest)  no LibTorch
    2  LibTorch   //tracer, //codegen (:torchscript)       LibTorch
    3  API        //:featx                                 public
    4  users      //tools //examples //benchmarks //corpus
                  //codegen/e2e //codegen/effects_e2e
                  //reliability                            (nobody depends on them)

//codegen holds both back ends, so it is listed in layers 1 and 2; that
:cpp uses no LibTorch is checked by //build_defs:layers_test.
Benchmarks may measure any layer directly. Tests sit in their package, which
visibility never restricts. The public targets (//:featx, //tools:featx,
//codegen:runfiles and the fixtures another workspace uses, see
examples/consumer) say `visibility = PUBLIC` where they are defined.
"""

def _union(*lists):
    """The labels of `lists`, in order, each once (Bazel rejects repeats)."""
    out = []
    for labels in lists:
        for label in labels:
            if label not in out:
                out.append(label)
    return out

_ANALYSIS_LAYER = [
    "//naming:__pkg__",
    "//pruning:__pkg__",
    "//passes:__pkg__",
    "//codegen:__pkg__",
    "//viz:__pkg__",
]

_LIBTORCH_LAYER = [
    "//tracer:__pkg__",
    "//codegen:__pkg__",
]

_API_LAYER = ["//:__pkg__"]

# Benchmarks time internals (naming, tracing) as well as the API.
_MEASUREMENTS = ["//benchmarks:__pkg__"]

# //build_defs:layers_test queries the layers (a genquery needs visibility).
_LAYER_CHECK = ["//build_defs:__pkg__"]

# The fuzz targets (//fuzz) drive parsers of layers 0 and 1 directly.
_FUZZING = ["//fuzz:__pkg__"]

PUBLIC = ["//visibility:public"]

# Who may use //base (shared utilities below the ground layer: status macros):
# every featx package.
BASE_USERS = ["//:__subpackages__"]

# Who may depend on //graph (layer 0): every layer above it.
GRAPH_USERS = _union(
    _ANALYSIS_LAYER,
    _LIBTORCH_LAYER,
    _API_LAYER,
    _MEASUREMENTS,
    _LAYER_CHECK,
    _FUZZING,
)

# Who may depend on //naming, //pruning, //passes (layer 1): their own layer
# and the layers above it.
ANALYSIS_USERS = GRAPH_USERS

# Who may depend on //tracer and //codegen (layer 2): the TorchScript back end
# and the tracer beside LibTorch, then the API.
LIBTORCH_LAYER_USERS = _union(
    _LIBTORCH_LAYER,
    _API_LAYER,
    _MEASUREMENTS,
    _LAYER_CHECK,
)

# The libraries of layers 0 and 1, which must not reach LibTorch.
NO_LIBTORCH_TARGETS = [
    "//graph",
    "//graph:pass",
    "//naming",
    "//naming:select",
    "//pruning",
    "//passes",
    "//codegen:cpp",
    "//codegen:manifest",
    "//viz:dot",
]
