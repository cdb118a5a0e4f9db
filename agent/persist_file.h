/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The snapshot file kmqttd saves the broker's state to (persistence_file
 * in persistence_location), and the codec of the records in it.
 *
 * The file is a header and the data after it.  It is replaced whole: the
 * new one is written to NAME.new, synced, renamed over NAME and the
 * directory synced, so after a crash NAME is either the old snapshot or
 * the new one.  The header, big-endian:
 *
 *	offset	size
 *	 0	8	magic "KMQTTDB\n"
 *	 8	4	format version, PERSIST_FILE_VERSION
 *	12	4	flags, none defined yet: 0
 *	16	8	length of the data
 *	24	4	CRC-32C of the data
 *	28	4	CRC-32C of bytes 0 to 27
 *
 * Records are big-endian integers and byte strings (a u32 length, then
 * the bytes).  The writer and the reader both remember that they failed
 * and then do nothing more, so their caller checks once, at the end.
 */
#ifndef KMQTTD_PERSIST_FILE_H
#define KMQTTD_PERSIST_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERSIST_FILE_MAGIC		"KMQTTDB\n"
#define PERSIST_FILE_VERSION		1
#define PERSIST_FILE_HEADER_SIZE	32
/* Larger data is refused rather than allocated on the header's word. */
#define PERSIST_FILE_MAX_LEN		(16ULL << 30)

/* CRC-32C (Castagnoli) of @len bytes at @data. */
uint32_t persist_crc32c(const void *data, size_t len);

/* Records being written: @len bytes of @data used, @cap allocated. */
struct persist_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;	/* out of memory: later puts do nothing */
};

void persist_buf_init(struct persist_buf *b);
void persist_buf_free(struct persist_buf *b);
void persist_put_u8(struct persist_buf *b, uint8_t v);
void persist_put_u16(struct persist_buf *b, uint16_t v);
void persist_put_u32(struct persist_buf *b, uint32_t v);
void persist_put_u64(struct persist_buf *b, uint64_t v);
/* @len as a u32, then the @len bytes at @data. */
void persist_put_bytes(struct persist_buf *b, const void *data, uint32_t len);

/* The records of @from after those of @b (a failed @from fails @b). */
void persist_buf_append(struct persist_buf *b, const struct persist_buf *from);

/* Records being read: @left bytes from @p. */
struct persist_reader {
	const uint8_t *p;
	size_t left;
	bool failed;	/* a get went past the end: later gets fail */
};

void persist_reader_init(struct persist_reader *r, const void *data,
			 size_t len);
/*
 * Each get returns true and sets its result, or returns false and sets
 * @r->failed when what is left is too short, or the reader had failed.
 */
bool persist_get_u8(struct persist_reader *r, uint8_t *v);
bool persist_get_u16(struct persist_reader *r, uint16_t *v);
bool persist_get_u32(struct persist_reader *r, uint32_t *v);
bool persist_get_u64(struct persist_reader *r, uint64_t *v);
/* *@data points into the reader's buffer: nothing is copied. */
bool persist_get_bytes(struct persist_reader *r, const uint8_t **data,
		       uint32_t *len);

/*
 * Replace @dir/@name with a snapshot of @len bytes at @data, holding an
 * exclusive flock() on @dir/@name.lock meanwhile (another writer waits).
 * Returns 0, or -errno with @err saying which step failed on which path;
 * then @dir/@name is as it was and @dir/@name.new is removed.  The one
 * exception is when only the final fsync of @dir fails: the new snapshot
 * is in place but might not survive a crash.
 */
int persist_file_save(const char *dir, const char *name, const void *data,
		      size_t len, char *err, size_t errlen);

/*
 * Read the snapshot @dir/@name into *@data (malloc'd, the caller frees
 * it; not NULL even when *@len is 0).  Returns 0, or with @err:
 *	-ENOENT		there is none yet: a first start
 *	-EBADMSG	it is damaged (truncated, too long, a wrong magic or a
 *			CRC that does not match)
 *	-EPROTO		it was written by a newer kmqttd
 *	-EFBIG		its data is longer than PERSIST_FILE_MAX_LEN, or
 *			than memory can hold
 *	-errno		any other failure
 * On -EBADMSG and -EPROTO the file has been renamed to
 * @dir/@name.corrupt-SECONDS (or .corrupt-SECONDS.N) where the next save
 * cannot overwrite it, and @err names the reason and that path; when the
 * rename fails, its -errno is returned instead.  *@data and *@len are
 * only set on success.  A @name.new left by a crash is ignored.
 */
int persist_file_load(const char *dir, const char *name, void **data,
		      size_t *len, char *err, size_t errlen);

/*
 * Keep the snapshot @dir/@name aside, renamed to @dir/@name.@kind-SECONDS
 * (or .N) where no save overwrites it, for a reason @why.  Returns 0 with
 * @err saying @why and where it went, or -errno with @err.
 */
int persist_file_keep(const char *dir, const char *name, const char *kind,
		      const char *why, char *err, size_t errlen);

#endif /* KMQTTD_PERSIST_FILE_H */
