// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist_file.h"

/* Where the header's fields are (see persist_file.h). */
#define MAGIC_LEN	(sizeof(PERSIST_FILE_MAGIC) - 1)
#define HDR_VERSION	MAGIC_LEN
#define HDR_FLAGS	12
#define HDR_LEN		16
#define HDR_DATA_CRC	24
#define HDR_CRC		28
_Static_assert(HDR_CRC + 4 == PERSIST_FILE_HEADER_SIZE, "header layout");

/* A writer's first allocation; it doubles from there. */
#define PERSIST_BUF_MIN	256

/*
 * How many of NAME.KIND-SECONDS, NAME.KIND-SECONDS.1, ... to try.
 * kmqttd does not keep that many snapshots aside in one second unless
 * something else is wrong.
 */
#define ASIDE_TRIES	100

static void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void store_be32(uint8_t *p, uint32_t v)
{
	store_be16(p, v >> 16);
	store_be16(p + 2, v);
}

static void store_be64(uint8_t *p, uint64_t v)
{
	store_be32(p, v >> 32);
	store_be32(p + 4, v);
}

static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)load_be16(p) << 16 | load_be16(p + 2);
}

static uint64_t load_be64(const uint8_t *p)
{
	return (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
}

/*
 * CRC-32C, reflected (polynomial 0x82f63b78), four bits at a time:
 * crc32c_nibble[i] is what the four low bits i leave in the CRC once
 * shifted out.  Sixteen entries are few enough to write down, so there is
 * no table to build at run time.
 */
static const uint32_t crc32c_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
	0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
	0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t persist_crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffff;

	while (len--) {
		crc ^= *p++;
		crc = crc >> 4 ^ crc32c_nibble[crc & 15];
		crc = crc >> 4 ^ crc32c_nibble[crc & 15];
	}
	return ~crc;
}

void persist_buf_init(struct persist_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void persist_buf_free(struct persist_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Where to put @n more bytes, already counted in @b->len; NULL if failed. */
static uint8_t *buf_append(struct persist_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : PERSIST_BUF_MIN;
	uint8_t *data;

	if (b->failed)
		return NULL;
	if (n > SIZE_MAX - b->len)
		goto fail;
	while (cap < b->len + n) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	if (cap != b->cap) {
		data = realloc(b->data, cap);
		if (!data)
			goto fail;
		b->data = data;
		b->cap = cap;
	}
	data = b->data + b->len;
	b->len += n;
	return data;
fail:
	b->failed = true;
	return NULL;
}

void persist_put_u8(struct persist_buf *b, uint8_t v)
{
	uint8_t *p = buf_append(b, 1);

	if (p)
		*p = v;
}

void persist_put_u16(struct persist_buf *b, uint16_t v)
{
	uint8_t *p = buf_append(b, 2);

	if (p)
		store_be16(p, v);
}

void persist_put_u32(struct persist_buf *b, uint32_t v)
{
	uint8_t *p = buf_append(b, 4);

	if (p)
		store_be32(p, v);
}

void persist_put_u64(struct persist_buf *b, uint64_t v)
{
	uint8_t *p = buf_append(b, 8);

	if (p)
		store_be64(p, v);
}

void persist_put_bytes(struct persist_buf *b, const void *data, uint32_t len)
{
	uint8_t *p;

	/* Two appends: 4 + len could overflow a 32-bit size_t. */
	persist_put_u32(b, len);
	p = buf_append(b, len);
	if (p && len)
		memcpy(p, data, len);
}

void persist_buf_append(struct persist_buf *b, const struct persist_buf *from)
{
	uint8_t *p;

	if (from->failed) {
		b->failed = true;
		return;
	}
	p = buf_append(b, from->len);
	if (p && from->len)
		memcpy(p, from->data, from->len);
}

void persist_reader_init(struct persist_reader *r, const void *data,
			 size_t len)
{
	r->p = data;
	r->left = len;
	r->failed = false;
}

/* The next @n bytes, or NULL (and failed) when fewer are left. */
static const uint8_t *reader_take(struct persist_reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->failed || n > r->left) {
		r->failed = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

bool persist_get_u8(struct persist_reader *r, uint8_t *v)
{
	const uint8_t *p = reader_take(r, 1);

	if (p)
		*v = *p;
	return p;
}

bool persist_get_u16(struct persist_reader *r, uint16_t *v)
{
	const uint8_t *p = reader_take(r, 2);

	if (p)
		*v = load_be16(p);
	return p;
}

bool persist_get_u32(struct persist_reader *r, uint32_t *v)
{
	const uint8_t *p = reader_take(r, 4);

	if (p)
		*v = load_be32(p);
	return p;
}

bool persist_get_u64(struct persist_reader *r, uint64_t *v)
{
	const uint8_t *p = reader_take(r, 8);

	if (p)
		*v = load_be64(p);
	return p;
}

bool persist_get_bytes(struct persist_reader *r, const uint8_t **data,
		       uint32_t *len)
{
	const uint8_t *p;
	uint32_t n;

	if (!persist_get_u32(r, &n))
		return false;
	p = reader_take(r, n);
	if (!p)
		return false;
	*data = p;
	*len = n;
	return true;
}

/* @rc, with @err saying what went wrong. */
static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* @dir/@name@suffix into @path, which has PATH_MAX bytes. */
static int join(char *path, const char *dir, const char *name,
		const char *suffix, char *err, size_t errlen)
{
	int n = snprintf(path, PATH_MAX, "%s/%s%s", dir, name, suffix);

	if (n < 0 || n >= PATH_MAX)
		return fail(err, errlen, -ENAMETOOLONG, "%s/%s%s: %s", dir,
			    name, suffix, strerror(ENAMETOOLONG));
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* @len bytes into @data, fewer (*@got) only at the end of the file. */
static int read_all(int fd, void *data, size_t len, size_t *got)
{
	uint8_t *p = data;

	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, p + *got, len - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/*
 * A rename in @dir lasts only once @dir is synced.  Returns 0, or -errno
 * with the step that failed.
 */
static int sync_dir(const char *dir, const char **step)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	*step = "open";
	if (fd < 0)
		return -errno;
	if (fsync(fd)) {
		rc = -errno;
		*step = "fsync";
	}
	close(fd);
	return rc;
}

static void fill_header(uint8_t *hdr, const void *data, size_t len)
{
	memcpy(hdr, PERSIST_FILE_MAGIC, MAGIC_LEN);
	store_be32(hdr + HDR_VERSION, PERSIST_FILE_VERSION);
	store_be32(hdr + HDR_FLAGS, 0);
	store_be64(hdr + HDR_LEN, len);
	store_be32(hdr + HDR_DATA_CRC, persist_crc32c(data, len));
	store_be32(hdr + HDR_CRC, persist_crc32c(hdr, HDR_CRC));
}

/* persist_file_save(), under the lock. */
static int save_locked(const char *dir, const char *name, const void *data,
		       size_t len, char *err, size_t errlen)
{
	uint8_t hdr[PERSIST_FILE_HEADER_SIZE];
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *step = "write";
	int fd, rc;

	rc = join(path, dir, name, "", err, errlen);
	if (!rc)
		rc = join(tmp, dir, name, ".new", err, errlen);
	if (rc)
		return rc;
	fill_header(hdr, data, len);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: open: %s", tmp,
			    strerror(errno));
	rc = write_all(fd, hdr, sizeof(hdr));
	if (!rc)
		rc = write_all(fd, data, len);
	/* Synced before the rename: it must not replace NAME half written. */
	if (!rc && fsync(fd)) {
		rc = -errno;
		step = "fsync";
	}
	if (close(fd) && !rc) {
		rc = -errno;
		step = "close";
	}
	if (rc) {
		unlink(tmp);
		return fail(err, errlen, rc, "%s: %s: %s", tmp, step,
			    strerror(-rc));
	}
	if (rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
		return fail(err, errlen, rc, "%s: rename to %s: %s", tmp, path,
			    strerror(-rc));
	}
	rc = sync_dir(dir, &step);
	if (rc)
		return fail(err, errlen, rc, "%s: %s: %s", dir, step,
			    strerror(-rc));
	return 0;
}

int persist_file_save(const char *dir, const char *name, const void *data,
		      size_t len, char *err, size_t errlen)
{
	char lock[PATH_MAX];
	int fd, rc;

	/* What load would refuse is not written. */
	if (len > PERSIST_FILE_MAX_LEN)
		return fail(err, errlen, -EFBIG,
			    "%s/%s: %zu bytes, more than %llu", dir, name, len,
			    PERSIST_FILE_MAX_LEN);
	rc = join(lock, dir, name, ".lock", err, errlen);
	if (rc)
		return rc;
	/*
	 * One writer of NAME.new at a time: the autosave of a kmqttd just
	 * killed may still be writing when the next kmqttd saves.
	 */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: open: %s", lock,
			    strerror(errno));
	if (flock(fd, LOCK_EX)) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "%s: flock: %s", lock,
			    strerror(-rc));
	}
	rc = save_locked(dir, name, data, len, err, errlen);
	close(fd);
	return rc;
}

/*
 * Whether @hdr, of a file of @size bytes, is a header this kmqttd reads:
 * 0 and the data's length in *@len, or -errno with @why.
 */
static int check_header(const uint8_t *hdr, uint64_t size, size_t *len,
			char *why, size_t whylen)
{
	uint32_t version = load_be32(hdr + HDR_VERSION);
	uint64_t n = load_be64(hdr + HDR_LEN);

	if (memcmp(hdr, PERSIST_FILE_MAGIC, MAGIC_LEN))
		return fail(why, whylen, -EBADMSG,
			    "not a kmqtt snapshot (wrong magic)");
	/*
	 * Before the header's CRC: a newer format may lay out the rest of
	 * the header differently.
	 */
	if (version > PERSIST_FILE_VERSION)
		return fail(why, whylen, -EPROTO,
			    "format version %u, newer than this kmqttd's %u",
			    version, PERSIST_FILE_VERSION);
	if (load_be32(hdr + HDR_CRC) != persist_crc32c(hdr, HDR_CRC))
		return fail(why, whylen, -EBADMSG, "bad header CRC");
	if (!version)
		return fail(why, whylen, -EBADMSG, "format version 0");
	if (load_be32(hdr + HDR_FLAGS))
		return fail(why, whylen, -EPROTO,
			    "flags %#x, unknown to this kmqttd",
			    load_be32(hdr + HDR_FLAGS));
	if (n > PERSIST_FILE_MAX_LEN || n > SIZE_MAX)
		return fail(why, whylen, -EFBIG,
			    "%llu bytes of data, more than %llu",
			    (unsigned long long)n, PERSIST_FILE_MAX_LEN);
	size -= PERSIST_FILE_HEADER_SIZE;
	if (n != size)
		return fail(why, whylen, -EBADMSG, "%s: %llu bytes of data, "
			    "the header says %llu", n > size ? "truncated" :
			    "too long", (unsigned long long)size,
			    (unsigned long long)n);
	*len = n;
	return 0;
}

/*
 * The data of the snapshot open as @fd, checked, into *@data (malloc'd)
 * and *@len.  Returns 0, or -errno with @why.
 */
static int read_snapshot(int fd, uint8_t **data, size_t *len, char *why,
			 size_t whylen)
{
	uint8_t hdr[PERSIST_FILE_HEADER_SIZE], *buf;
	size_t n = 0, got;
	struct stat st;
	int rc;

	if (fstat(fd, &st))
		return fail(why, whylen, -errno, "fstat: %s", strerror(errno));
	if (st.st_size < PERSIST_FILE_HEADER_SIZE)
		return fail(why, whylen, -EBADMSG,
			    "truncated: %lld bytes, less than a header",
			    (long long)st.st_size);
	rc = read_all(fd, hdr, sizeof(hdr), &got);
	if (rc)
		return fail(why, whylen, rc, "read: %s", strerror(-rc));
	if (got < sizeof(hdr))
		return fail(why, whylen, -EBADMSG, "truncated while read");
	rc = check_header(hdr, (uint64_t)st.st_size, &n, why, whylen);
	if (rc)
		return rc;
	/* Not NULL for no data: NULL would mean out of memory. */
	buf = malloc(n ? n : 1);
	if (!buf)
		return fail(why, whylen, -ENOMEM, "%zu bytes: %s", n,
			    strerror(ENOMEM));
	rc = read_all(fd, buf, n, &got);
	if (rc)
		rc = fail(why, whylen, rc, "read: %s", strerror(-rc));
	else if (got < n)
		rc = fail(why, whylen, -EBADMSG, "truncated while read");
	else if (load_be32(hdr + HDR_DATA_CRC) != persist_crc32c(buf, n))
		rc = fail(why, whylen, -EBADMSG, "bad data CRC");
	if (rc) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = n;
	return 0;
}

/*
 * Rename the snapshot @path (in @dir) to @path.@kind-SECONDS, a name of
 * its own, so that the next save does not overwrite what someone may want
 * to look at.  Returns @rc with @err saying @why and where it went, or
 * the rename's -errno.
 */
static int move_aside(const char *dir, const char *path, const char *kind,
		      const char *why, int rc, char *err, size_t errlen)
{
	long long now = (long long)time(NULL);
	char aside[PATH_MAX];
	const char *step;
	unsigned int i;
	int n, e;

	for (i = 0; i < ASIDE_TRIES; i++) {
		if (i)
			n = snprintf(aside, sizeof(aside), "%s.%s-%lld.%u",
				     path, kind, now, i);
		else
			n = snprintf(aside, sizeof(aside), "%s.%s-%lld", path,
				     kind, now);
		if (n < 0 || n >= (int)sizeof(aside))
			return fail(err, errlen, -ENAMETOOLONG,
				    "%s: %s; no room for a .%s name",
				    path, why, kind);
		if (!renameat2(AT_FDCWD, path, AT_FDCWD, aside,
			       RENAME_NOREPLACE))
			break;
		if (errno != EEXIST)
			return fail(err, errlen, -errno,
				    "%s: %s; rename to %s: %s", path, why,
				    aside, strerror(errno));
	}
	if (i == ASIDE_TRIES)
		return fail(err, errlen, -EEXIST,
			    "%s: %s; %s.%s-%lld to .%u all exist", path,
			    why, path, kind, now, ASIDE_TRIES - 1);
	e = sync_dir(dir, &step);
	if (e)
		return fail(err, errlen, e,
			    "%s: %s; moved to %s, but %s: %s: %s", path, why,
			    aside, dir, step, strerror(-e));
	return fail(err, errlen, rc, "%s: %s; moved to %s", path, why, aside);
}

int persist_file_load(const char *dir, const char *name, void **data,
		      size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX], why[128];
	uint8_t *buf = NULL;
	size_t n = 0;
	int fd, rc;

	rc = join(path, dir, name, "", err, errlen);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return fail(err, errlen, -ENOENT,
			    "%s: does not exist yet (a first start)", path);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: open: %s", path,
			    strerror(errno));
	rc = read_snapshot(fd, &buf, &n, why, sizeof(why));
	close(fd);
	if (rc == -EBADMSG || rc == -EPROTO)
		return move_aside(dir, path, "corrupt", why, rc, err, errlen);
	if (rc)
		return fail(err, errlen, rc, "%s: %s", path, why);
	*data = buf;
	*len = n;
	return 0;
}

int persist_file_keep(const char *dir, const char *name, const char *kind,
		      const char *why, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = join(path, dir, name, "", err, errlen);

	return rc ? rc : move_aside(dir, path, kind, why, 0, err, errlen);
}
