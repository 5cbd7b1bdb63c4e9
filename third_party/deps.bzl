"""featx's external repositories, for featx's own WORKSPACE and for consumers.

Every repository is local: Bazel has no network on featx machines. They all
come from Debian packages, which ./bazelw installs when missing.

A workspace that uses featx (for example `cc_feature_extractor` from
@featx//codegen:defs.bzl) declares it and then its dependencies:

    local_repository(name = "featx", path = "../featx")
    load("@featx//third_party:deps.bzl", "featx_dependencies")
    featx_dependencies()

Labels here are wrapped in Label(), so they name featx's own files whether featx
is the main repository or @featx.
"""

load("//third_party:coverage_stub.bzl", "coverage_stub")
load("//third_party:libtorch.bzl", "libtorch_repository")
load("//third_party:rules_cc.bzl", "debian_rules_cc")
load("//third_party:system_repository.bzl", "system_repository")

def _maybe(rule, name, **kwargs):
    # A repository the calling WORKSPACE declared first wins.
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def featx_dependencies():
    """Declares @rules_cc, @rules_java, @remote_coverage_tools, @platforms,
    @bazel_skylib, @libtorch, @absl, @nlohmann_json, @gtest and @benchmark, unless the calling
    WORKSPACE already declared a repository of that name."""

    # --- Bazel rules --------------------------------------------------------

    # Debian's rules_cc 0.0.4, patched for Bazel 4.2.3 (see rules_cc.bzl).
    _maybe(debian_rules_cc, name = "rules_cc")

    # Bazel 4 resolves @rules_java while registering JDK toolchains, even for
    # pure C++ builds; without this it tries (and fails) to download it.
    _maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )

    # Every test rule depends on it; Bazel's default is an http_archive.
    _maybe(coverage_stub, name = "remote_coverage_tools")

    _maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/platforms",
    )

    _maybe(
        native.local_repository,
        name = "bazel_skylib",
        path = "/usr/share/bazel/tools/skylib",
    )

    # --- C++ libraries ------------------------------------------------------

    # @libtorch//:libtorch. Debian's libtorch-dev, or the install at $FEATX_LIBTORCH.
    _maybe(libtorch_repository, name = "libtorch")

    # @absl//:absl
    _maybe(
        system_repository,
        name = "absl",
        build_file = Label("//third_party:absl.BUILD"),
        package = "libabsl-dev",
        symlinks = {"/usr/include/absl": "absl"},
    )

    # @nlohmann_json//:nlohmann_json (header-only): JSON output and manifests.
    _maybe(
        system_repository,
        name = "nlohmann_json",
        build_file = Label("//third_party:nlohmann_json.BUILD"),
        package = "nlohmann-json3-dev",
        symlinks = {"/usr/include/nlohmann": "include/nlohmann"},
    )

    # @gtest//:gtest, @gtest//:gtest_main (both include GoogleMock).
    _maybe(
        system_repository,
        name = "gtest",
        build_file = Label("//third_party:gtest.BUILD"),
        package = "libgtest-dev libgmock-dev",
        symlinks = {
            "/usr/include/gtest": "include/gtest",
            "/usr/include/gmock": "include/gmock",
            "/usr/lib/x86_64-linux-gnu/libgtest.a": "lib/libgtest.a",
            "/usr/lib/x86_64-linux-gnu/libgmock.a": "lib/libgmock.a",
            "/usr/lib/x86_64-linux-gnu/libgmock_main.a": "lib/libgmock_main.a",
        },
    )

    # @benchmark//:benchmark, @benchmark//:benchmark_main
    _maybe(
        system_repository,
        name = "benchmark",
        build_file = Label("//third_party:benchmark.BUILD"),
        package = "libbenchmark-dev",
        symlinks = {
            "/usr/include/benchmark": "include/benchmark",
            "/usr/lib/x86_64-linux-gnu/libbenchmark_main.a": "lib/libbenchmark_main.a",
        },
    )
