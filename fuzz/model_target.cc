#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "featx.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"

namespace featx::fuzz {

namespace {

// One temporary file per process, rewritten for every input.
const std::string& ModelPath() {
  static const std::string* path = [] {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(dir != nullptr ? dir : "/tmp") + "/featx_fuzz_XXXXXX";
    int fd = mkstemp(pattern.data());
    FUZZ_CHECK(fd >= 0, pattern);
    close(fd);
    return new std::string(pattern);
  }();
  return *path;
}

void CheckUserFacing(const absl::Status& status) {
  FUZZ_CHECK(!absl::StrContains(status.message(), "please report a bug"), status.ToString());
  FUZZ_CHECK(!absl::StrContains(status.message(), "INTERNAL ASSERT"), status.ToString());
}

}  // namespace

int FuzzModel(const uint8_t* data, size_t size) {
  {
    std::ofstream out(ModelPath(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Everything below must answer a Status: an exception escaping featx would
  // end the process (std::terminate), which libFuzzer reports as a crash.
  absl::StatusOr<torch::jit::Module> model = LoadModel(ModelPath());
  if (!model.ok()) {
    CheckUserFacing(model.status());
    return 0;
  }
  absl::StatusOr<NodeNames> names = GetGraphNodeNames(*model, {});
  if (!names.ok()) {
    CheckUserFacing(names.status());
    return 0;
  }
  return 0;
}

}  // namespace featx::fuzz
