// SPDX-License-Identifier: GPL-2.0
/* The tracepoints themselves: trace.h, expanded once. */
#define CREATE_TRACE_POINTS
#include "trace.h"
