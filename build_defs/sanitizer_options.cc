// Default options and leak suppressions for featx's sanitizer builds
// (`./bazelw test --config=asan //...`, `--config=ubsan`; see README.md,
// "Sanitizers").
//
// .bazelrc links this file into every cc_binary and cc_test of those configs
// through `--custom_malloc` (Bazel's one hook that reaches every binary; the
// allocator itself stays the sanitizer's). The runtime calls these functions at
// start-up, so the options hold for tests, for binaries that shell tests run
// (tools/cli_test.sh runs //tools:featx), and for a binary run by hand, with no
// environment or file path to set. ASAN_OPTIONS / LSAN_OPTIONS / UBSAN_OPTIONS
// in the environment still override them.
//
// Outside a sanitizer build nothing calls these functions.

extern "C" {

// ASan: report every error with a full stack, and make leak checking part of
// the run (LeakSanitizer runs at exit).
const char* __asan_default_options() {
  return "detect_leaks=1:"
         "abort_on_error=0:"
         "strict_string_checks=1:"
         "detect_stack_use_after_return=1:"
         "check_initialization_order=1";
}

const char* __lsan_default_options() { return "print_suppressions=0"; }

// LeakSanitizer suppressions: none are needed. LibTorch's static registries
// (operators, dispatch keys, JIT passes) stay reachable from globals at exit,
// so LSan does not report them. The one LibTorch leak the tests met, ~215
// bytes when PyTorchStreamReader throws from its constructor after opening a
// zip that is not laid out as TorchScript, no longer happens: LoadModel
// rejects those files before LibTorch reads them (model_file.h). It could not
// have been suppressed narrowly: LibTorch has no frame pointers, so the
// allocation stack stops at an unsymbolized libtorch_cpu.so frame, and
// "leak:libtorch_cpu.so" would hide every LibTorch leak. A suppression added
// here must name a frame inside Debian's LibTorch (uninstrumented, not featx
// code), one per line as "leak:<function or library>", with a comment saying
// why; featx's own leaks are bugs to fix, not to suppress.
const char* __lsan_default_suppressions() { return ""; }

// UBSan: a full stack with every report (-fno-sanitize-recover=undefined in
// .bazelrc already makes the first one fatal).
const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

}  // extern "C"
