/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Race windows held open on purpose: at a few points where two contexts
 * may interleave, the module can sleep for a while, so that a test reaches
 * the interleaving every time instead of once in a thousand runs
 * (Documentation/testing.rst, "Race windows").  Off unless the module
 * parameter race_delay_us says otherwise.
 */
#ifndef _KMQTT_RACE_H
#define _KMQTT_RACE_H

#include <linux/compiler.h>

/* Index into the race_delay_us parameter: keep in step with the docs. */
enum kmqtt_race {
	/* attach: the connection is ready, before its close check */
	KMQTT_RACE_ATTACH,
	/* receive work: the connection was just paused */
	KMQTT_RACE_PAUSE,
	/* close work: before the connection lets go of its session */
	KMQTT_RACE_CLOSE,
	/* delivery pump, session lock held: a queued or resent message's send */
	KMQTT_RACE_PUMP,

	KMQTT_RACE_COUNT,
};

extern unsigned int kmqtt_race_delay_us[KMQTT_RACE_COUNT];

void kmqtt_race_sleep(enum kmqtt_race where);
void kmqtt_race_spin(enum kmqtt_race where);

/* Sleeps, so only where the caller may: process context, no spinlock. */
static inline void kmqtt_race_window(enum kmqtt_race where)
{
	if (unlikely(READ_ONCE(kmqtt_race_delay_us[where])))
		kmqtt_race_sleep(where);
}

/* Spins instead, up to a second: for a point under a spinlock. */
static inline void kmqtt_race_spin_window(enum kmqtt_race where)
{
	if (unlikely(READ_ONCE(kmqtt_race_delay_us[where])))
		kmqtt_race_spin(where);
}

#endif /* _KMQTT_RACE_H */
