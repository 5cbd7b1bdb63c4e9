// status_macros.h
//
// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr.
// Debian's Abseil (20220623) ships no status_macros.h, so featx keeps this
// one small copy that every package uses.
//
// Example:
//   RETURN_IF_ERROR(Verify(graph));
//   ASSIGN_OR_RETURN(std::unique_ptr<Graph> g, ParseGraph(text));

#ifndef FEATX_BASE_STATUS_MACROS_H_
#define FEATX_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FEATX_STATUS_CONCAT_INNER_(a, b) a##b
#define FEATX_STATUS_CONCAT_(a, b) FEATX_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status featx_status_ = (expr);         \
    if (!featx_status_.ok()) return featx_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  FEATX_ASSIGN_OR_RETURN_IMPL_(FEATX_STATUS_CONCAT_(featx_statusor_, __LINE__), lhs, expr)

#define FEATX_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FEATX_BASE_STATUS_MACROS_H_
