"""Compiler flags for featx's own targets.

Every featx cc_library, cc_binary and cc_test uses `copts = FEATX_COPTS`.
Third-party headers (LibTorch, Abseil, GoogleTest, Benchmark) come in through
`includes`, that is -isystem, so their warnings do not trip -Werror; verified
with <torch/torch.h>, <torch/script.h> and the torch/csrc/jit headers.
"""

FEATX_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    # Designated initializers (`{.op = ..., .target = ...}`) leave the other
    # fields at their defaults on purpose.
    "-Wno-missing-field-initializers",
]
