/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's failslab fault injection (Documentation/fault-injection),
 * aimed at kmqtt's own slab caches only through its cache filter.  The
 * debug kernel has it and marks them (tools/vm/debug.config); Debian's
 * does not, and tests that need it skip there.
 */
#ifndef KMQTT_TEST_FAILSLAB_H
#define KMQTT_TEST_FAILSLAB_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether this kernel can inject slab failures into kmqtt's caches: it
 * has failslab, and booted with slub_debug=A,kmqtt_* to mark them.
 */
bool failslab_available(void);
/*
 * Fail allocations from kmqtt's caches (kmqtt_conn, kmqtt_session,
 * kmqtt_txent, kmqtt_delivery, kmqtt_msg) with this probability in
 * percent; only those that cannot sleep unless sleeping_too.  0 or -errno.
 */
int failslab_start(unsigned int percent, bool sleeping_too);
/* Failures injected since failslab_start(). */
int failslab_injected(uint64_t *n);
/* No more failures.  0 or -errno. */
int failslab_stop(void);

#endif
