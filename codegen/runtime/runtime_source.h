// runtime_source.h
//
// The text of codegen/runtime/featx_runtime.h, embedded at build time (see
// codegen/runtime/BUILD). Read it through codegen/runtime.h, which cuts it
// into the sections a generated file copies.

#ifndef FEATX_CODEGEN_RUNTIME_RUNTIME_SOURCE_H_
#define FEATX_CODEGEN_RUNTIME_RUNTIME_SOURCE_H_

namespace featx {

extern const char kFeatxRuntimeSource[];

}  // namespace featx

#endif  // FEATX_CODEGEN_RUNTIME_RUNTIME_SOURCE_H_
