// SPDX-License-Identifier: GPL-2.0
/* Race windows held open for tests (race.h). */

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/time64.h>

#include "race.h"

unsigned int kmqtt_race_delay_us[KMQTT_RACE_COUNT];
module_param_array_named(race_delay_us, kmqtt_race_delay_us, uint, NULL,
			 0644);
MODULE_PARM_DESC(race_delay_us,
		 "tests only: wait this long at each race window (attach,pause,close,pump; microseconds, 0: off)");

static bool race_delay_random;
module_param(race_delay_random, bool, 0644);
MODULE_PARM_DESC(race_delay_random,
		 "tests only: wait a random time up to race_delay_us instead");

/* Whoever waits for a spinning CPU's lock spins too: a spin stays short. */
#define KMQTT_RACE_SPIN_MAX_US	USEC_PER_SEC

static unsigned int kmqtt_race_us(enum kmqtt_race where)
{
	unsigned int us = READ_ONCE(kmqtt_race_delay_us[where]);

	/* Up to @us, inclusive, whatever its size. */
	if (READ_ONCE(race_delay_random))
		us = ((u64)get_random_u32() * ((u64)us + 1)) >> 32;
	return us;
}

void kmqtt_race_sleep(enum kmqtt_race where)
{
	might_sleep();
	fsleep(kmqtt_race_us(where));
}

void kmqtt_race_spin(enum kmqtt_race where)
{
	unsigned int us = min_t(unsigned int, kmqtt_race_us(where),
				KMQTT_RACE_SPIN_MAX_US);

	/* udelay() takes at most a few milliseconds at once. */
	mdelay(us / USEC_PER_MSEC);
	udelay(us % USEC_PER_MSEC);
}
