// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"

static const char *const problems[] = {
	"WARNING:", "BUG:", "kernel BUG at", "Oops", "general protection",
	"KASAN", "UBSAN", "possible circular locking", "INFO: ",
	"inconsistent lock state", "suspected memory leak", "refcount_t",
	"list_add corruption", "list_del corruption",
	"sleeping function called from invalid context",
	"blocked for more than", "Call Trace:", "Kernel panic",
};

int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int kmsg_problems(int fd)
{
	char rec[8192];
	int found = 0;
	size_t i;
	ssize_t n;

	for (;;) {
		/* One record per read; EPIPE: records were overwritten. */
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; i < sizeof(problems) / sizeof(problems[0]); i++) {
			if (strstr(rec, problems[i])) {
				fprintf(stderr, "# kernel: %s", rec);
				found++;
				break;
			}
		}
	}
	close(fd);
	return found;
}
