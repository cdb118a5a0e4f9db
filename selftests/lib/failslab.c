// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "failslab.h"
#include "kfile.h"

#define FAILSLAB	"/sys/kernel/debug/failslab/"
/* Failures allowed in one run: far more than any test injects. */
#define TIMES		1000000

static int set_attr(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), FAILSLAB "%s", name);
	return kfile_write(path, value);
}

bool failslab_available(void)
{
	char marked[4];

	return !access(FAILSLAB "probability", W_OK) &&
	       !kfile_read("/sys/kernel/slab/kmqtt_delivery/failslab", marked,
			  sizeof(marked)) &&
	       marked[0] == '1';
}

int failslab_start(unsigned int percent, bool sleeping_too)
{
	char value[16], times[16];
	int err;

	snprintf(value, sizeof(value), "%u", percent);
	snprintf(times, sizeof(times), "%d", TIMES);
	err = set_attr("cache-filter", "Y");
	if (!err)
		err = set_attr("ignore-gfp-wait", sleeping_too ? "N" : "Y");
	/* No report per failure: the run's kernel log must stay clean. */
	if (!err)
		err = set_attr("verbose", "0");
	if (!err)
		err = set_attr("interval", "1");
	if (!err)
		err = set_attr("times", times);
	if (!err)
		err = set_attr("probability", value);
	return err;
}

int failslab_injected(uint64_t *n)
{
	char buf[32];
	int err;

	err = kfile_read(FAILSLAB "times", buf, sizeof(buf));
	if (!err)
		*n = TIMES - strtoll(buf, NULL, 10);
	return err;
}

int failslab_stop(void)
{
	return set_attr("probability", "0");
}
