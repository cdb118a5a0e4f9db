/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unload kmqtt.ko and load it again from $KMQTT_KO, for the suites that
 * need a module whose state is made anew (rmmod, persist).  They leave it
 * loaded for the suites after them.
 */
#ifndef KMQTT_TEST_MODULE_H
#define KMQTT_TEST_MODULE_H

#include <stdbool.h>

bool kmqtt_module_loaded(void);
/* finit_module() of $KMQTT_KO: 0 or -errno (-ENOENT: KMQTT_KO unset). */
int kmqtt_module_load(void);
/*
 * delete_module() as rmmod does it, retried for a while when the module
 * is busy (a netlink dump in flight holds it): 0 or -errno.
 */
int kmqtt_module_unload(void);

#endif
