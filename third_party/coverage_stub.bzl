"""`@remote_coverage_tools` without the download.

Every test rule depends on @bazel_tools//tools/test:coverage_report_generator,
which Bazel 4's built-in WORKSPACE suffix points at an http_archive. With no
network that fails analysis of any cc_test. This stub stands in for it; it
only matters for `bazel coverage`, which featx does not use.
"""

_BUILD = """\
package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "coverage_report_generator",
    srcs = ["unsupported.sh"],
)

sh_binary(
    name = "lcov_merger",
    srcs = ["unsupported.sh"],
)
"""

_SCRIPT = """\
#!/bin/sh
echo "bazel coverage is not supported offline (stub @remote_coverage_tools)" >&2
exit 1
"""

def _coverage_stub_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.attr.name)
    rctx.file("BUILD.bazel", _BUILD)
    rctx.file("unsupported.sh", _SCRIPT, executable = True)

coverage_stub = repository_rule(implementation = _coverage_stub_impl)
