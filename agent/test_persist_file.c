// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/persist_file.c: the snapshot file, saved so that a crash
 * leaves the old or the new one, loaded only whole and intact, and the
 * bounds-checked codec of its records.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "persist_file.h"
#include "kselftest_harness.h"

#define NAME	"kmqtt.db"
#define SMALL	"retained a/b: hello"
#define MIB	(1024 * 1024)

/* The header's layout as persist_file.h documents it. */
#define HDR_VERSION	8
#define HDR_FLAGS	12
#define HDR_LEN		16
#define HDR_DATA_CRC	24
#define HDR_CRC		28

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * A snapshot of @len bytes of @data into @out, its header saying
 * @version, @flags and @len_field for the data's length.  Returns its size.
 */
static size_t make_file(uint8_t *out, const void *data, size_t len,
			uint32_t version, uint32_t flags, uint64_t len_field)
{
	memcpy(out, "KMQTTDB\n", 8);
	be32(out + HDR_VERSION, version);
	be32(out + HDR_FLAGS, flags);
	be32(out + HDR_LEN, len_field >> 32);
	be32(out + HDR_LEN + 4, len_field);
	be32(out + HDR_DATA_CRC, persist_crc32c(data, len));
	be32(out + HDR_CRC, persist_crc32c(out, HDR_CRC));
	if (len)
		memcpy(out + PERSIST_FILE_HEADER_SIZE, data, len);
	return PERSIST_FILE_HEADER_SIZE + len;
}

/* A pattern that repeats at no power of two. */
static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len);
	size_t i;

	for (i = 0; p && i < len; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

static int write_raw(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* @path's content (malloc'd) and its length in *@len, or NULL. */
static uint8_t *read_raw(const char *path, size_t *len)
{
	uint8_t *data = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st)) {
		data = malloc(st.st_size + 1);
		if (data && read(fd, data, st.st_size) != st.st_size) {
			free(data);
			data = NULL;
		}
		*len = st.st_size;
	}
	close(fd);
	return data;
}

/* How many files in @dir start with @prefix; the last one's in @found. */
static int count_files(const char *dir, const char *prefix, char *found,
		       size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		n++;
		if (found)
			snprintf(found, size, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

/* The CRC-32C one bit at a time, as the definition goes. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffff;
	int i;

	while (len--) {
		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = crc >> 1 ^ (0x82f63b78 & -(crc & 1));
	}
	return ~crc;
}

TEST(crc32c_check_values)
{
	uint8_t buf[32];
	int i;

	EXPECT_EQ(0xe3069283, persist_crc32c("123456789", 9));
	EXPECT_EQ(0, persist_crc32c(NULL, 0));
	/* RFC 3720, B.4 */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0x8a9136aa, persist_crc32c(buf, sizeof(buf)));
	memset(buf, 0xff, sizeof(buf));
	EXPECT_EQ(0x62a8ab43, persist_crc32c(buf, sizeof(buf)));
	for (i = 0; i < 32; i++)
		buf[i] = i;
	EXPECT_EQ(0x46dd794e, persist_crc32c(buf, sizeof(buf)));
	for (i = 0; i < 32; i++)
		buf[i] = 31 - i;
	EXPECT_EQ(0x113fdb5c, persist_crc32c(buf, sizeof(buf)));
}

/* Every entry of the nibble table is used by some byte and CRC state. */
TEST(crc32c_matches_bitwise)
{
	uint8_t buf[300];
	size_t len, i;

	srand(1);
	for (len = 0; len < sizeof(buf); len++) {
		for (i = 0; i < len; i++)
			buf[i] = rand();
		ASSERT_EQ(crc32c_bitwise(buf, len), persist_crc32c(buf, len))
			TH_LOG("length %zu", len);
	}
}

TEST(codec_round_trip)
{
	static const uint8_t head[] = {
		0x00, 0xff, 0x12, 0x34, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00,			/* empty bytes */
		0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c',
		0x00, 0x10, 0x00, 0x01,			/* 1 MiB + 1 */
	};
	uint8_t *big = pattern(MIB + 1), u8;
	struct persist_reader r;
	struct persist_buf b;
	const uint8_t *p;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	ASSERT_NE(NULL, big);
	persist_buf_init(&b);
	persist_put_u8(&b, 0);
	persist_put_u8(&b, 0xff);
	persist_put_u16(&b, 0x1234);
	persist_put_u16(&b, 0xffff);
	persist_put_u32(&b, 0xdeadbeef);
	persist_put_u64(&b, 0x0102030405060708ULL);
	persist_put_u64(&b, UINT64_MAX);
	persist_put_bytes(&b, NULL, 0);
	persist_put_bytes(&b, "abc", 3);
	persist_put_bytes(&b, big, MIB + 1);
	persist_put_u8(&b, 0x5a);
	ASSERT_FALSE(b.failed);
	ASSERT_EQ(sizeof(head) + MIB + 1 + 1, b.len);
	EXPECT_EQ(0, memcmp(head, b.data, sizeof(head)));

	persist_reader_init(&r, b.data, b.len);
	ASSERT_TRUE(persist_get_u8(&r, &u8));
	EXPECT_EQ(0, u8);
	ASSERT_TRUE(persist_get_u8(&r, &u8));
	EXPECT_EQ(0xff, u8);
	ASSERT_TRUE(persist_get_u16(&r, &u16));
	EXPECT_EQ(0x1234, u16);
	ASSERT_TRUE(persist_get_u16(&r, &u16));
	EXPECT_EQ(0xffff, u16);
	ASSERT_TRUE(persist_get_u32(&r, &u32));
	EXPECT_EQ(0xdeadbeef, u32);
	ASSERT_TRUE(persist_get_u64(&r, &u64));
	EXPECT_EQ(0x0102030405060708ULL, u64);
	ASSERT_TRUE(persist_get_u64(&r, &u64));
	EXPECT_EQ(UINT64_MAX, u64);
	ASSERT_TRUE(persist_get_bytes(&r, &p, &u32));
	EXPECT_EQ(0, u32);
	ASSERT_TRUE(persist_get_bytes(&r, &p, &u32));
	ASSERT_EQ(3, u32);
	EXPECT_EQ(0, memcmp(p, "abc", 3));
	ASSERT_TRUE(persist_get_bytes(&r, &p, &u32));
	ASSERT_EQ(MIB + 1, u32);
	EXPECT_EQ(b.data + sizeof(head), p);	/* not a copy */
	EXPECT_EQ(0, memcmp(p, big, MIB + 1));
	ASSERT_TRUE(persist_get_u8(&r, &u8));
	EXPECT_EQ(0x5a, u8);
	EXPECT_EQ(0, r.left);
	EXPECT_FALSE(r.failed);
	EXPECT_FALSE(persist_get_u8(&r, &u8));
	EXPECT_TRUE(r.failed);
	persist_buf_free(&b);
	free(big);
}

/* Each get one byte short fails, reads nothing, and the reader stays failed. */
TEST(reader_one_byte_short)
{
	static const uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct persist_reader r;
	const uint8_t *p = NULL;
	uint8_t u8 = 0xaa;
	uint16_t u16 = 0xaaaa;
	uint32_t u32 = 0xaaaaaaaa;
	uint64_t u64 = 0xaaaaaaaaaaaaaaaaULL;

	persist_reader_init(&r, buf, 0);
	EXPECT_FALSE(persist_get_u8(&r, &u8));
	EXPECT_TRUE(r.failed);
	persist_reader_init(&r, buf, 1);
	EXPECT_FALSE(persist_get_u16(&r, &u16));
	EXPECT_TRUE(r.failed);
	persist_reader_init(&r, buf, 3);
	EXPECT_FALSE(persist_get_u32(&r, &u32));
	EXPECT_TRUE(r.failed);
	persist_reader_init(&r, buf, 7);
	EXPECT_FALSE(persist_get_u64(&r, &u64));
	EXPECT_TRUE(r.failed);
	/* what is left would hold these, but the reader failed */
	EXPECT_EQ(7, r.left);
	EXPECT_FALSE(persist_get_u8(&r, &u8));
	EXPECT_FALSE(persist_get_u32(&r, &u32));
	EXPECT_TRUE(r.failed);
	/* too short for the length of the bytes */
	persist_reader_init(&r, buf, 3);
	EXPECT_FALSE(persist_get_bytes(&r, &p, &u32));
	EXPECT_TRUE(r.failed);
	EXPECT_EQ(0xaa, u8);
	EXPECT_EQ(0xaaaa, u16);
	EXPECT_EQ(0xaaaaaaaa, u32);
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaULL, u64);
	EXPECT_EQ(NULL, p);
}

TEST(reader_bytes_longer_than_left)
{
	static const uint8_t five[] = { 0, 0, 0, 5, 'a', 'b', 'c', 'd' };
	static const uint8_t four[] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	struct persist_reader r;
	const uint8_t *p = NULL;
	uint32_t len = 0xaaaaaaaa;

	persist_reader_init(&r, five, sizeof(five));
	EXPECT_FALSE(persist_get_bytes(&r, &p, &len));
	EXPECT_TRUE(r.failed);
	persist_reader_init(&r, huge, sizeof(huge));
	EXPECT_FALSE(persist_get_bytes(&r, &p, &len));
	EXPECT_TRUE(r.failed);
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(0xaaaaaaaa, len);
	/* exactly what is left */
	persist_reader_init(&r, four, sizeof(four));
	ASSERT_TRUE(persist_get_bytes(&r, &p, &len));
	EXPECT_EQ(four + 4, p);
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, r.left);
	EXPECT_FALSE(r.failed);
}

/*
 * A buffer as long as size_t can count, faked over one byte: growing it
 * fails instead of wrapping, and later puts are ignored.
 */
TEST(buf_cannot_grow)
{
	uint8_t byte = 0xaa;
	struct persist_buf b = { .data = &byte, .len = SIZE_MAX - 1,
				 .cap = SIZE_MAX - 1 };

	persist_put_u16(&b, 1);
	EXPECT_TRUE(b.failed);
	EXPECT_EQ(SIZE_MAX - 1, b.len);
	/* with room for it, a put after the failure still does nothing */
	b.len = 0;
	persist_put_u8(&b, 0x55);
	EXPECT_EQ(0, b.len);
	EXPECT_EQ(0xaa, byte);
	/* doubling the capacity would wrap */
	b = (struct persist_buf){ .data = &byte, .len = SIZE_MAX / 2 + 1,
				  .cap = SIZE_MAX / 2 + 1 };
	persist_put_u8(&b, 0x55);
	EXPECT_TRUE(b.failed);
	EXPECT_EQ(SIZE_MAX / 2 + 1, b.len);
}

FIXTURE(pf) {
	char dir[64];
	char path[128];		/* dir/NAME */
	char tmp[128];		/* dir/NAME.new */
	char err[512];
	void *data;
	size_t len;
};

FIXTURE_SETUP(pf)
{
	strcpy(self->dir, "/tmp/test_persist_file.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/" NAME, self->dir);
	snprintf(self->tmp, sizeof(self->tmp), "%s/" NAME ".new", self->dir);
	self->err[0] = '\0';
	self->data = NULL;
	self->len = 0;
}

FIXTURE_TEARDOWN(pf)
{
	char cmd[128];

	free(self->data);
	chmod(self->dir, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

static int save(FIXTURE_DATA(pf) *self, const void *data, size_t len)
{
	return persist_file_save(self->dir, NAME, data, len, self->err,
				 sizeof(self->err));
}

/* Load into self->data, which must be NULL. */
static int load(FIXTURE_DATA(pf) *self)
{
	return persist_file_load(self->dir, NAME, &self->data, &self->len,
				 self->err, sizeof(self->err));
}

/* The snapshot loads and holds @len bytes of @data. */
static void expect_loads(struct __test_metadata *_metadata,
			 FIXTURE_DATA(pf) *self, const void *data, size_t len)
{
	free(self->data);
	self->data = NULL;
	ASSERT_EQ(0, load(self)) TH_LOG("%s", self->err);
	ASSERT_NE(NULL, self->data);
	ASSERT_EQ(len, self->len);
	EXPECT_EQ(0, memcmp(data, self->data, len));
}

/*
 * The load that just failed moved the snapshot, @len bytes of @file, to a
 * NAME.corrupt-* that @err names, unchanged, and set no data.  That file
 * is removed for the next case.
 */
static void expect_moved_aside(struct __test_metadata *_metadata,
			       FIXTURE_DATA(pf) *self, const void *file,
			       size_t len)
{
	char name[NAME_MAX + 1], aside[PATH_MAX];
	size_t moved_len = 0;
	uint8_t *moved;

	EXPECT_EQ(NULL, self->data);
	ASSERT_EQ(-1, access(self->path, F_OK));
	ASSERT_EQ(1, count_files(self->dir, NAME ".corrupt-", name,
				 sizeof(name)));
	snprintf(aside, sizeof(aside), "%s/%s", self->dir, name);
	ASSERT_NE(NULL, strstr(self->err, aside)) TH_LOG("%s", self->err);
	moved = read_raw(aside, &moved_len);
	ASSERT_NE(NULL, moved);
	EXPECT_EQ(len, moved_len);
	EXPECT_EQ(0, memcmp(file, moved, len));
	free(moved);
	ASSERT_EQ(0, unlink(aside));
}

TEST_F(pf, save_load_round_trip)
{
	uint8_t expect[PERSIST_FILE_HEADER_SIZE + sizeof(SMALL)], *file, *big;
	size_t len = 0;
	struct stat st;

	ASSERT_EQ(0, save(self, SMALL, sizeof(SMALL))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_EQ(-1, access(self->tmp, F_OK));
	/* byte for byte as persist_file.h lays it out */
	make_file(expect, SMALL, sizeof(SMALL), 1, 0, sizeof(SMALL));
	file = read_raw(self->path, &len);
	ASSERT_NE(NULL, file);
	ASSERT_EQ(sizeof(expect), len);
	EXPECT_EQ(0, memcmp(expect, file, len));
	free(file);
	expect_loads(_metadata, self, SMALL, sizeof(SMALL));

	ASSERT_EQ(0, save(self, NULL, 0)) TH_LOG("%s", self->err);
	expect_loads(_metadata, self, "", 0);

	big = pattern(MIB);
	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, save(self, big, MIB)) TH_LOG("%s", self->err);
	expect_loads(_metadata, self, big, MIB);
	free(big);
	/* ., .., NAME and NAME.lock: no NAME.new left */
	EXPECT_EQ(4, count_files(self->dir, "", NULL, 0));
}

TEST_F(pf, load_missing)
{
	ASSERT_EQ(-ENOENT, load(self));
	EXPECT_EQ(NULL, self->data);
	EXPECT_NE(NULL, strstr(self->err, self->path)) TH_LOG("%s", self->err);
	EXPECT_EQ(2, count_files(self->dir, "", NULL, 0));	/* . and .. */
}

TEST_F(pf, truncated_at_every_length)
{
	size_t full_len = 0, cut;
	uint8_t *full;

	ASSERT_EQ(0, save(self, SMALL, sizeof(SMALL))) TH_LOG("%s", self->err);
	full = read_raw(self->path, &full_len);
	ASSERT_NE(NULL, full);
	for (cut = 0; cut < full_len; cut++) {
		ASSERT_EQ(0, write_raw(self->path, full, cut));
		ASSERT_EQ(-EBADMSG, load(self)) TH_LOG("%zu bytes", cut);
		expect_moved_aside(_metadata, self, full, cut);
	}
	free(full);
}

/*
 * Any one bit flipped is found.  In the version, one that makes it newer
 * reads as a newer format, which is all a header that may have a newer
 * layout can tell.
 */
TEST_F(pf, bit_flipped_at_every_position)
{
	size_t full_len = 0, pos;
	uint8_t *full, *file;
	bool newer;
	int bit;

	ASSERT_EQ(0, save(self, SMALL, sizeof(SMALL))) TH_LOG("%s", self->err);
	full = read_raw(self->path, &full_len);
	ASSERT_NE(NULL, full);
	file = malloc(full_len);
	ASSERT_NE(NULL, file);
	for (pos = 0; pos < full_len; pos++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(file, full, full_len);
			file[pos] ^= 1 << bit;
			ASSERT_EQ(0, write_raw(self->path, file, full_len));
			newer = get_be32(file + HDR_VERSION) >
				PERSIST_FILE_VERSION;
			ASSERT_EQ(newer ? -EPROTO : -EBADMSG, load(self))
				TH_LOG("byte %zu bit %d: %s", pos, bit,
				       self->err);
			expect_moved_aside(_metadata, self, file, full_len);
		}
	}
	free(file);
	free(full);
}

TEST_F(pf, too_long)
{
	uint8_t file[PERSIST_FILE_HEADER_SIZE + sizeof(SMALL) + 1];
	size_t len = make_file(file, SMALL, sizeof(SMALL), 1, 0,
			       sizeof(SMALL));

	file[len++] = 0;
	ASSERT_EQ(0, write_raw(self->path, file, len));
	ASSERT_EQ(-EBADMSG, load(self));
	expect_moved_aside(_metadata, self, file, len);
}

TEST_F(pf, newer_version)
{
	uint8_t file[PERSIST_FILE_HEADER_SIZE + sizeof(SMALL)];
	size_t len = make_file(file, SMALL, sizeof(SMALL),
			       PERSIST_FILE_VERSION + 1, 0, sizeof(SMALL));

	ASSERT_EQ(0, write_raw(self->path, file, len));
	ASSERT_EQ(-EPROTO, load(self));
	EXPECT_NE(NULL, strstr(self->err, "version 2")) TH_LOG("%s", self->err);
	expect_moved_aside(_metadata, self, file, len);
}

/* A flag, with the header's CRC right, is one a newer kmqttd set. */
TEST_F(pf, unknown_flags)
{
	uint8_t file[PERSIST_FILE_HEADER_SIZE + sizeof(SMALL)];
	size_t len = make_file(file, SMALL, sizeof(SMALL), 1, 1,
			       sizeof(SMALL));

	ASSERT_EQ(0, write_raw(self->path, file, len));
	ASSERT_EQ(-EPROTO, load(self));
	expect_moved_aside(_metadata, self, file, len);
}

/* Refused before anything is allocated, and left where it is. */
TEST_F(pf, data_too_long_for_kmqttd)
{
	uint64_t lens[] = { PERSIST_FILE_MAX_LEN + 1, UINT64_MAX };
	uint8_t file[PERSIST_FILE_HEADER_SIZE];
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		make_file(file, NULL, 0, 1, 0, lens[i]);
		ASSERT_EQ(0, write_raw(self->path, file, sizeof(file)));
		ASSERT_EQ(-EFBIG, load(self));
		EXPECT_EQ(NULL, self->data);
		EXPECT_EQ(0, access(self->path, F_OK));
		EXPECT_EQ(0, count_files(self->dir, NAME ".corrupt-", NULL, 0));
	}
}

/* What load would refuse, save refuses without reading it. */
TEST_F(pf, save_too_long)
{
	ASSERT_EQ(-EFBIG, save(self, "", PERSIST_FILE_MAX_LEN + 1));
	EXPECT_EQ(-1, access(self->tmp, F_OK));
	EXPECT_EQ(-1, access(self->path, F_OK));
}

/* A crash mid-save leaves NAME.new: load ignores it, save replaces it. */
TEST_F(pf, stale_new_file)
{
	ASSERT_EQ(0, write_raw(self->tmp, "half a snap", 11));
	EXPECT_EQ(-ENOENT, load(self));
	ASSERT_EQ(0, save(self, "first", 5)) TH_LOG("%s", self->err);
	ASSERT_EQ(0, write_raw(self->tmp, "half a snap", 11));
	expect_loads(_metadata, self, "first", 5);
	ASSERT_EQ(0, save(self, "second", 6)) TH_LOG("%s", self->err);
	EXPECT_EQ(-1, access(self->tmp, F_OK));
	expect_loads(_metadata, self, "second", 6);
}

/*
 * A save waits while another writer holds NAME.lock (the autosave of a
 * kmqttd just killed), and goes on once it is let go.
 */
TEST_F(pf, save_waits_for_the_lock)
{
	char lock[160];
	int fd, status;
	pid_t pid;

	snprintf(lock, sizeof(lock), "%s/" NAME ".lock", self->dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, flock(fd, LOCK_EX));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The lock stays the parent's: its own descriptor holds it. */
		close(fd);
		_exit(save(self, "second", 6) ? 1 : 0);
	}
	usleep(300000);
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	EXPECT_EQ(-1, access(self->path, F_OK));
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	expect_loads(_metadata, self, "second", 6);
}

TEST_F(pf, save_into_missing_dir)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/none", self->dir);
	EXPECT_EQ(-ENOENT, persist_file_save(dir, NAME, SMALL, sizeof(SMALL),
					     self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "none/" NAME ".lock: open: "))
		TH_LOG("%s", self->err);
	EXPECT_EQ(-1, access(dir, F_OK));
}

/* A save that cannot open NAME.new leaves the last snapshot. */
TEST_F(pf, failed_open_keeps_snapshot)
{
	ASSERT_EQ(0, save(self, "first", 5)) TH_LOG("%s", self->err);
	ASSERT_EQ(0, mkdir(self->tmp, 0700));
	EXPECT_EQ(-EISDIR, save(self, "second", 6));
	EXPECT_NE(NULL, strstr(self->err, self->tmp)) TH_LOG("%s", self->err);
	expect_loads(_metadata, self, "first", 5);
}

/*
 * A write that stops part way (past RLIMIT_FSIZE: first a short write,
 * then EFBIG) removes NAME.new and leaves the last snapshot.
 */
TEST_F(pf, failed_write_keeps_snapshot)
{
	struct rlimit limit = { .rlim_cur = 64, .rlim_max = 64 };
	uint8_t *big = pattern(100);

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, save(self, "first", 5)) TH_LOG("%s", self->err);
	ASSERT_NE(SIG_ERR, signal(SIGXFSZ, SIG_IGN));
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &limit));
	EXPECT_EQ(-EFBIG, save(self, big, 100));
	EXPECT_NE(NULL, strstr(self->err, ".new: write: "))
		TH_LOG("%s", self->err);
	EXPECT_EQ(-1, access(self->tmp, F_OK));
	expect_loads(_metadata, self, "first", 5);
	free(big);
}

/* Two damaged snapshots found in the same second keep their own names. */
TEST_F(pf, moved_aside_twice_in_a_second)
{
	char aside[256], cmd[256];
	time_t before, after;
	size_t len = 0;
	uint8_t *data;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		before = time(NULL);
		ASSERT_EQ(0, write_raw(self->path, "first", 5));
		ASSERT_EQ(-EBADMSG, load(self));
		ASSERT_EQ(0, write_raw(self->path, "second", 6));
		ASSERT_EQ(-EBADMSG, load(self));
		after = time(NULL);
		if (before == after)
			break;
		/* the second ticked between them: again */
		snprintf(cmd, sizeof(cmd), "rm %s.corrupt-*", self->path);
		ASSERT_EQ(0, system(cmd));
	}
	ASSERT_EQ(before, after);
	EXPECT_EQ(2, count_files(self->dir, NAME ".corrupt-", NULL, 0));
	snprintf(aside, sizeof(aside), "%s.corrupt-%lld", self->path,
		 (long long)before);
	data = read_raw(aside, &len);
	ASSERT_NE(NULL, data) TH_LOG("no %s", aside);
	ASSERT_EQ(5, len);
	EXPECT_EQ(0, memcmp("first", data, 5));
	free(data);
	strcat(aside, ".1");
	data = read_raw(aside, &len);
	ASSERT_NE(NULL, data) TH_LOG("no %s", aside);
	ASSERT_EQ(6, len);
	EXPECT_EQ(0, memcmp("second", data, 6));
	EXPECT_NE(NULL, strstr(self->err, aside)) TH_LOG("%s", self->err);
	free(data);
}

/*
 * A good snapshot kept aside (not all of it could be restored): under a
 * name of its own, unchanged, and the next save does not touch it.
 */
TEST_F(pf, kept_aside)
{
	char name[NAME_MAX + 1], aside[PATH_MAX];
	size_t len = 0;
	uint8_t *kept;

	ASSERT_EQ(0, save(self, "first", 5)) TH_LOG("%s", self->err);
	ASSERT_EQ(0, persist_file_keep(self->dir, NAME, "partial",
				       "not all restored", self->err,
				       sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(-1, access(self->path, F_OK));
	ASSERT_EQ(1, count_files(self->dir, NAME ".partial-", name,
				 sizeof(name)));
	snprintf(aside, sizeof(aside), "%s/%s", self->dir, name);
	EXPECT_NE(NULL, strstr(self->err, aside)) TH_LOG("%s", self->err);
	EXPECT_NE(NULL, strstr(self->err, "not all restored"));
	ASSERT_EQ(0, save(self, "second", 6)) TH_LOG("%s", self->err);
	kept = read_raw(aside, &len);
	ASSERT_NE(NULL, kept);
	ASSERT_EQ(PERSIST_FILE_HEADER_SIZE + 5, len);
	EXPECT_EQ(0, memcmp("first", kept + PERSIST_FILE_HEADER_SIZE, 5));
	free(kept);
	expect_loads(_metadata, self, "second", 6);
	/* Nothing to keep. */
	ASSERT_EQ(0, unlink(self->path));
	EXPECT_EQ(-ENOENT, persist_file_keep(self->dir, NAME, "partial", "x",
					     self->err, sizeof(self->err)));
}

TEST_HARNESS_MAIN
