/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqtt.ko's module parameters from tests (/sys/module/kmqtt/parameters).
 * The race windows (kmod/race.h): the module sleeps (or spins, under a
 * lock) at one of these points for as long as race_delay_us says, which
 * holds an interleaving open for the test to walk into.
 */
#ifndef KMQTT_TEST_MODPARAMS_H
#define KMQTT_TEST_MODPARAMS_H

#include <stdbool.h>

/* Write a parameter (e.g. "max_fanout", "2"): 0 or -errno. */
int modparam_write(const char *name, const char *value);

/* The order of kmod/race.h's enum kmqtt_race. */
enum race_window {
	RACE_ATTACH,
	RACE_PAUSE,
	RACE_CLOSE,
	RACE_PUMP,

	RACE_COUNT,
};

/* Sleep up to us microseconds at where (0: no more); 0 or -errno. */
int race_set_delay(enum race_window where, unsigned int us);
/* Sleep a random time up to the delay instead of all of it. */
int race_set_random(bool random);
/* Every window closed, no randomness: for teardowns. */
int race_reset(void);

#endif
