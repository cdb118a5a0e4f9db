/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libFuzzer harnesses share: a failed invariant aborts (libFuzzer
 * then saves the input as a reproducer), a cursor that reads the input as a
 * sequence of small choices, and input split into NUL-separated parts.
 */
#ifndef KMQTT_FUZZ_H
#define KMQTT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/* The input as choices; past its end every choice is 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/*
 * Part @i of @data split at NUL bytes, in a fresh NUL-terminated string
 * (free it), or NULL when the input has fewer parts.
 */
char *fuzz_part(const uint8_t *data, size_t size, unsigned int i);

/*
 * A private directory under $TMPDIR (created on first use, removed at
 * exit) and files in it, for the parsers whose API takes a path.
 * fuzz_write_file() returns the file's path, valid until its next call.
 */
const char *fuzz_dir(void);
const char *fuzz_write_file(const char *name, const void *data, size_t size);

#endif
