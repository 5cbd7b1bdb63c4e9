"""cc_feature_extractor: a TorchScript model's intermediate features as a C++ library.

    load("@featx//codegen:defs.bzl", "cc_feature_extractor")   # or "//codegen:defs.bzl" inside featx

    cc_feature_extractor(
        name = "resnet18_features",
        model = "//models:resnet18.pt",               # a TorchScript file
        return_nodes = ["layer1", "layer2.0.add", "layer4:final"],
        class_name = "ResNet18Features",
        namespace = "vision",
        # stem = "resnet18_features",                 # default: the target's name
    )

At build time this runs `featx codegen` (//tools:featx, built for the execution
platform) as one hermetic action. Its only inputs are the model and the tool;
its outputs are four files next to the BUILD file:

    <package>/<stem>.h        #include "<package>/<stem>.h"
    <package>/<stem>.cc
    <package>/<stem>.weights  the pruned parameters, a runfile of every dependent
    <package>/<stem>.json     what was generated (manifest)

and the macro defines:

    :<name>            cc_library; depends only on LibTorch (@libtorch, as
                       declared by featx_dependencies())
    :<name>_weights    filegroup with <stem>.weights
    :<name>_manifest   filegroup with <stem>.json
    :<name>_codegen    the generating action (private)

At run time, find the weights with //codegen:runfiles:

    std::string path = featx::FindRunfile(
        "<workspace name>/<package>/<stem>.weights", argv[0]);
    vision::ResNet18Features extractor = vision::ResNet18Features::Load(path);
    vision::ResNet18Features::Features f = extractor(x);   // f.layer1, f.final, ...
"""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//build_defs:copts.bzl", "FEATX_COPTS")

_MODES = ["eval", "train"]

# Attributes every target the macro creates shares with the cc_library.
_COMMON_ATTRS = [
    "compatible_with",
    "exec_compatible_with",
    "restricted_to",
    "tags",
    "target_compatible_with",
    "testonly",
]

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"

def _run_end(s, i, kind):
    # The first index >= i that ends a run of `kind` characters.
    for j in range(i, len(s)):
        c = s[j]
        if kind == "digits":
            inside = c in _DIGITS
        elif kind == "lower":
            inside = c in _LOWER
        elif kind == "capitals":
            # Capitals, but not the one that starts a capitalized word.
            inside = c in _UPPER and not (j + 1 < len(s) and s[j + 1] in _LOWER)
        else:
            inside = not (c in _UPPER or c in _DIGITS)
        if not inside:
            return j
    return len(s)

def snake_case(class_name):
    """The default file stem for a class name, as `featx codegen` makes it.

    Mirrors featx::SnakeCase (codegen/cpp.cc): words are a capital with its
    lower-case run, a run of capitals, or digits; digits and the word "Net"
    join the word before them, as torchvision spells its models:
    SeedCnnFeatures -> seed_cnn_features, ResNet18Features -> resnet18_features,
    MobileNetV3Features -> mobilenet_v3_features.
    """
    words = []
    i = 0
    for _ in range(len(class_name)):
        if i >= len(class_name):
            break
        start = i
        c = class_name[i]
        if c in _DIGITS:
            i = _run_end(class_name, i, "digits")
        elif c in _UPPER:
            i += 1
            if i < len(class_name) and class_name[i] in _LOWER:
                i = _run_end(class_name, i, "lower")
            else:
                i = _run_end(class_name, i, "capitals")
        else:
            i = _run_end(class_name, i + 1, "other")
        word = class_name[start:i].lower()
        if words and (word[0] in _DIGITS or word == "net"):
            words[-1] += word
        else:
            words.append(word)
    return "_".join(words)

def _is_identifier(s):
    if not s or s[0] in _DIGITS:
        return False
    for c in s.elems():
        if not (c in _LOWER or c in _UPPER or c in _DIGITS or c == "_"):
            return False
    return True

def _is_file_stem(s):
    if not s:
        return False
    for c in s.elems():
        if not (c in _LOWER or c in _UPPER or c in _DIGITS or c == "_"):
            return False
    return True

def _check(name, what, ok, value):
    if not ok:
        fail("cc_feature_extractor(name = %r): bad %s %r" % (name, what, value))

def _shape_flag(name, input_shape):
    if type(input_shape) == "string":
        dims = input_shape.split(",")
    elif type(input_shape) == "list":
        dims = [str(d) for d in input_shape]
    else:
        dims = []
    ok = len(dims) > 0
    for d in dims:
        ok = ok and d.isdigit() and int(d) > 0
    _check(name, "input_shape (want [1, 3, 224, 224] or \"1,3,224,224\")", ok, input_shape)
    return ",".join(dims)

def _featx_codegen_impl(ctx):
    outs = [ctx.outputs.header, ctx.outputs.source, ctx.outputs.weights, ctx.outputs.manifest]
    args = ctx.actions.args()
    args.add("codegen")
    args.add(ctx.file.model)
    args.add("--return_nodes=" + ",".join(ctx.attr.return_nodes))
    args.add("--class_name=" + ctx.attr.class_name)
    args.add("--namespace=" + ctx.attr.namespace)
    args.add("--mode=" + ctx.attr.mode)
    if ctx.attr.leaf_modules:
        args.add("--leaf_modules=" + ",".join(ctx.attr.leaf_modules))
    if ctx.attr.input_shape:
        args.add("--input_shape=" + ctx.attr.input_shape)
    args.add("--optimize=" + ("inference" if ctx.attr.optimize else "none"))
    if ctx.attr.channels_last_outputs:
        args.add("--channels_last_outputs=true")
    args.add("--stem=" + ctx.attr.stem)
    args.add("--out_dir=" + ctx.outputs.header.dirname)
    ctx.actions.run(
        executable = ctx.attr._featx[DefaultInfo].files_to_run,
        arguments = [args],
        inputs = [ctx.file.model],
        outputs = outs,
        mnemonic = "FeatxCodegen",
        progress_message = "Generating C++ feature extractor %s from %s" % (
            ctx.label,
            ctx.file.model.short_path,
        ),
    )
    return [DefaultInfo(files = depset(outs))]

_featx_codegen = rule(
    implementation = _featx_codegen_impl,
    doc = "Runs `featx codegen` on a TorchScript model. Use cc_feature_extractor.",
    attrs = {
        "model": attr.label(mandatory = True, allow_single_file = True),
        "return_nodes": attr.string_list(mandatory = True, allow_empty = False),
        "class_name": attr.string(mandatory = True),
        "namespace": attr.string(mandatory = True),
        "mode": attr.string(default = "eval", values = _MODES),
        "leaf_modules": attr.string_list(),
        "input_shape": attr.string(),
        "optimize": attr.bool(default = True),
        "channels_last_outputs": attr.bool(default = False),
        "stem": attr.string(mandatory = True),
        "header": attr.output(mandatory = True),
        "source": attr.output(mandatory = True),
        "weights": attr.output(mandatory = True),
        "manifest": attr.output(mandatory = True),
        "_featx": attr.label(
            default = Label("//tools:featx"),
            executable = True,
            cfg = "exec",
        ),
    },
)

def cc_feature_extractor(
        name,
        model,
        return_nodes,
        class_name,
        namespace,
        mode = "eval",
        leaf_modules = [],
        input_shape = None,
        stem = None,
        optimize = True,
        channels_last_outputs = False,
        visibility = None,
        **kwargs):
    """A cc_library with the C++ feature extractor `featx codegen` writes for `model`.

    Args:
      name: the cc_library's name; also the prefix of the helper targets.
      model: label of a TorchScript file (torch.jit.script(m).save(...)).
      return_nodes: list of "node" or "node:key", as in torchvision's
        create_feature_extractor; one Features field per entry, in order.
      class_name: the generated C++ class, e.g. "ResNet18Features".
      namespace: its C++ namespace, e.g. "vision" or "my::models".
      mode: "eval" (default) or "train": which traced graph to generate.
      leaf_modules: module class names or paths kept as one call.
      input_shape: optional example input shape, [1, 3, 224, 224] or "1,3,224,224".
      stem: file name stem of the four outputs; defaults to `name`, as other
        code-generating rules name their outputs (name = "mbv3s_features" gives
        mbv3s_features.h). Set it where the target name is not a valid stem.
      optimize: True (default): eval-mode inference code, BatchNorm folded into
        the convolutions, ReLU fused, prepacked channels_last convolutions
        (equal to the TorchScript extractor within float rounding). False:
        one ATen call per node, bit-identical. Train mode is always exact.
      channels_last_outputs: with optimize, leave 4-d outputs channels_last
        instead of copying them back to NCHW.
      visibility: of the cc_library and the _weights and _manifest filegroups.
      **kwargs: passed to the cc_library (copts, deps and data are appended to
        the macro's);
        tags, testonly and the compatibility attributes go to every target.
    """
    if stem == None:
        stem = name
    _check(name, "class_name", _is_identifier(class_name), class_name)
    _check(name, "namespace", all([_is_identifier(p) for p in namespace.split("::")]), namespace)
    _check(name, "stem (letters, digits, '_'; set `stem` if the target name is not one)", _is_file_stem(stem), stem)
    _check(name, "mode (want \"eval\" or \"train\")", mode in _MODES, mode)
    _check(name, "return_nodes", type(return_nodes) == "list" and len(return_nodes) > 0, return_nodes)
    for node in return_nodes:
        _check(name, "return_nodes entry", node and "," not in node, node)
    for leaf in leaf_modules:
        _check(name, "leaf_modules entry", leaf and "," not in leaf, leaf)
    shape = _shape_flag(name, input_shape) if input_shape != None else ""

    common = {k: kwargs[k] for k in _COMMON_ATTRS if k in kwargs}

    _featx_codegen(
        name = name + "_codegen",
        model = model,
        return_nodes = return_nodes,
        class_name = class_name,
        namespace = namespace,
        mode = mode,
        leaf_modules = leaf_modules,
        input_shape = shape,
        optimize = optimize,
        channels_last_outputs = channels_last_outputs,
        stem = stem,
        header = stem + ".h",
        source = stem + ".cc",
        weights = stem + ".weights",
        manifest = stem + ".json",
        visibility = ["//visibility:private"],
        **common
    )

    native.filegroup(
        name = name + "_weights",
        srcs = [stem + ".weights"],
        visibility = visibility,
        **common
    )

    native.filegroup(
        name = name + "_manifest",
        srcs = [stem + ".json"],
        visibility = visibility,
        **common
    )

    # featx's warnings without -Werror: generated code is compiled by every
    # consumer's toolchain, whose newer warnings must not break its build.
    copts = [c for c in FEATX_COPTS if c != "-Werror"] + kwargs.pop("copts", [])
    cc_library(
        name = name,
        srcs = [stem + ".cc"],
        hdrs = [stem + ".h"],
        data = [":" + name + "_weights"] + kwargs.pop("data", []),
        copts = copts,
        deps = [Label("@libtorch//:libtorch")] + kwargs.pop("deps", []),
        visibility = visibility,
        **kwargs
    )
