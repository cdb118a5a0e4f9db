// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "module.h"

#define MODULE_NAME		"kmqtt"
#define MODULE_SYSFS		"/sys/module/" MODULE_NAME
#define UNLOAD_RETRY_MS		10000

bool kmqtt_module_loaded(void)
{
	struct stat st;

	return !stat(MODULE_SYSFS, &st);
}

int kmqtt_module_load(void)
{
	const char *path = getenv("KMQTT_KO");
	int fd, err = 0;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		err = -errno;
	close(fd);
	return err;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int kmqtt_module_unload(void)
{
	long long deadline = now_ms() + UNLOAD_RETRY_MS;

	while (syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK)) {
		if ((errno != EAGAIN && errno != EBUSY) ||
		    now_ms() >= deadline)
			return -errno;
		usleep(10000);
	}
	return 0;
}
