// status_macros.h: moved to base/status_macros.h (//base:status_macros).
// This forward only keeps branches written before the move building; include
// "base/status_macros.h" and delete this file once they are merged.
#include "base/status_macros.h"  // IWYU pragma: export
