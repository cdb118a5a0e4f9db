// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include "fuzz.h"

char *fuzz_part(const uint8_t *data, size_t size, unsigned int i)
{
	const uint8_t *end = data + size, *nul;
	char *s;

	for (; i; i--) {
		nul = memchr(data, 0, (size_t)(end - data));
		if (!nul)
			return NULL;
		data = nul + 1;
	}
	nul = memchr(data, 0, (size_t)(end - data));
	s = strndup((const char *)data, (size_t)((nul ? nul : end) - data));
	if (!s)
		abort();
	return s;
}

static char dir[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void remove_dir(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	if (dir[0])
		remove_dir();	/* abort() skips atexit() */
	abort();
}

const char *fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir[0])
		return dir;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/kmqtt-fuzz.XXXXXX",
			     tmp ? tmp : "/tmp") >= sizeof(dir) || !mkdtemp(dir)) {
		perror(dir);
		abort();
	}
	atexit(remove_dir);
	return dir;
}

const char *fuzz_write_file(const char *name, const void *data, size_t size)
{
	static char path[PATH_MAX + NAME_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
		perror(path);
		abort();
	}
	return path;
}
