// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "race.h"

#define PARAMS	"/sys/module/kmqtt/parameters/"

static int write_param(const char *name, const char *value)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : n < 0 ? -errno : -EIO;
}

static int read_delays(unsigned int us[RACE_COUNT])
{
	char buf[256];
	ssize_t n;
	int fd, i, off = 0, used;

	fd = open(PARAMS "race_delay_us", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
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
	return write_param("race_delay_us", value);
}

int race_set_random(bool random)
{
	return write_param("race_delay_random", random ? "Y" : "N");
}

int race_reset(void)
{
	int err = race_set_random(false);
	int i;

	for (i = 0; !err && i < RACE_COUNT; i++)
		err = race_set_delay(i, 0);
	return err;
}
