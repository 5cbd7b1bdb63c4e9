// libFuzzer entry point for featx::fuzz::FuzzGraphText (fuzz/targets.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return featx::fuzz::FuzzGraphText(data, size);
}
