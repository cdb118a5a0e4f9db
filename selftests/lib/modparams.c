// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>

#include "kfile.h"
#include "modparams.h"

#define PARAMS	"/sys/module/kmqtt/parameters/"

int modparam_write(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return kfile_write(path, value);
}

static int read_delays(unsigned int us[RACE_COUNT])
{
	int i, off = 0, used, err;
	char buf[256];

	err = kfile_read(PARAMS "race_delay_us", buf, sizeof(buf));
	if (err)
		return err;
	for (i = 0; i < RACE_COUNT; i++) {
		if (sscanf(buf + off, "%u%n", &us[i], &used) != 1)
			return -EIO;
		off += used + (buf[off + used] == ',');
	}
	return 0;
}

int race_set_delay(enum race_window where, unsigned int us)
{
	unsigned int delays[RACE_COUNT];
	char value[128];
	int i, err, off = 0;

	err = read_delays(delays);
	if (err)
		return err;
	delays[where] = us;
	for (i = 0; i < RACE_COUNT; i++)
		off += snprintf(value + off, sizeof(value) - off, "%s%u",
				i ? "," : "", delays[i]);
	return modparam_write("race_delay_us", value);
}

int race_set_random(bool random)
{
	return modparam_write("race_delay_random", random ? "Y" : "N");
}

int race_reset(void)
{
	int err = race_set_random(false);
	int i;

	for (i = 0; !err && i < RACE_COUNT; i++)
		err = race_set_delay(i, 0);
	return err;
}
