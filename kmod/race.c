// SPDX-License-Identifier: GPL-2.0
/* Race windows held open for tests (race.h). */

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/random.h>

#include "race.h"

unsigned int kmqtt_race_delay_us[KMQTT_RACE_COUNT];
module_param_array_named(race_delay_us, kmqtt_race_delay_us, uint, NULL,
			 0644);
MODULE_PARM_DESC(race_delay_us,
		 "tests only: sleep this long at each race window (attach,pause,close; microseconds, 0: off)");

static bool race_delay_random;
module_param(race_delay_random, bool, 0644);
MODULE_PARM_DESC(race_delay_random,
		 "tests only: sleep a random time up to race_delay_us instead");

void kmqtt_race_sleep(enum kmqtt_race where)
{
	unsigned int us = READ_ONCE(kmqtt_race_delay_us[where]);

	might_sleep();
	if (READ_ONCE(race_delay_random))
		us = get_random_u32() % (us + 1);
	fsleep(us);
}
