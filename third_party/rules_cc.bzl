"""`rules_cc` from Debian's bazel-rules-cc, patched to load under Bazel 4.2.3.

Debian ships rules_cc 0.0.4, whose compiler_flag.bzl and cc_flags_supplier.bzl
call `use_cpp_toolchain()`, a helper that Bazel 4.2.3's @bazel_tools lacks.
This rule copies the tree and replaces the call with the toolchain type it
stands for.
"""

_FILES_TO_PATCH = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

_LOAD_OLD = '"find_cpp_toolchain", "use_cpp_toolchain")'
_LOAD_NEW = '"find_cpp_toolchain")'
_CALL_OLD = "use_cpp_toolchain()"
_CALL_NEW = '["@bazel_tools//tools/cpp:toolchain_type"]'

def _debian_rules_cc_impl(rctx):
    src = rctx.path(rctx.attr.path)
    if not src.get_child("cc").get_child("defs.bzl").exists:
        fail("%s/cc/defs.bzl not found; install bazel-rules-cc (./bazelw does)" % src)

    # Symlink every top-level entry except the tree that holds the files we patch.
    for entry in src.readdir():
        if entry.basename != "cc":
            rctx.symlink(entry, entry.basename)
    res = rctx.execute(["cp", "-R", str(src.get_child("cc")), "cc"])
    if res.return_code != 0:
        fail("copying %s/cc failed: %s" % (src, res.stderr))

    for f in _FILES_TO_PATCH:
        text = rctx.read(f)
        patched = text.replace(_LOAD_OLD, _LOAD_NEW).replace(_CALL_OLD, _CALL_NEW)
        if "use_cpp_toolchain" in patched:
            fail("rules_cc: unexpected use of use_cpp_toolchain left in %s" % f)
        rctx.file(f, patched, executable = False)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    attrs = {
        "path": attr.string(default = "/usr/share/bazel/rules/cc"),
    },
)
