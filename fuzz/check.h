// fuzz/check.h: FUZZ_CHECK(cond, message) aborts with a message when a fuzz
// target finds featx breaking an invariant; libFuzzer then saves the input.

#ifndef FEATX_FUZZ_CHECK_H_
#define FEATX_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, message)                                                          \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant broken: %s: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(message).c_str());                                          \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

#endif  // FEATX_FUZZ_CHECK_H_
