"""A repository made of files that a Debian package installed under /usr.

The rule symlinks the given files and directories into the repository and adds
a BUILD file, so headers and archives are declared inputs that Bazel tracks
(and sandboxes), instead of being picked up from /usr behind Bazel's back.
"""

def _system_repository_impl(rctx):
    for src, dst in rctx.attr.symlinks.items():
        path = rctx.path(src)
        if not path.exists:
            fail("%s: %s does not exist; install %s (./bazelw does)" %
                 (rctx.attr.name, src, rctx.attr.package))
        rctx.symlink(path, dst)
    rctx.symlink(rctx.attr.build_file, "BUILD.bazel")
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.attr.name)

system_repository = repository_rule(
    implementation = _system_repository_impl,
    attrs = {
        "symlinks": attr.string_dict(
            mandatory = True,
            doc = "Absolute path on this machine -> path inside the repository.",
        ),
        "build_file": attr.label(mandatory = True, allow_single_file = True),
        "package": attr.string(doc = "Debian package(s) that provide the files."),
    },
)
