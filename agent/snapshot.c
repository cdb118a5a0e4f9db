// SPDX-License-Identifier: GPL-2.0
/*
 * The records of kmqttd's snapshot.  Each is a type byte and its body as
 * a byte string, so that a reader checks every record's length on its
 * own; a type it does not know makes the whole snapshot unreadable
 * rather than partly read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kmod/codec.h"
#include "snapshot.h"

enum snapshot_record {
	SNAPSHOT_HEADER = 1,	/* u64 instance, u64 saved_at */
	/* u8 QoS, u64 expires_at (0: never), bytes stored form */
	SNAPSHOT_RETAINED = 2,
};

/*
 * A record's type and the length of its body, which the caller then
 * writes field by field: its size is known up front, so nothing is
 * copied twice.
 */
static void put_record(struct persist_buf *buf, uint8_t type, size_t len)
{
	persist_put_u8(buf, type);
	persist_put_u32(buf, (uint32_t)len);
}

void snapshot_put_header(struct persist_buf *buf,
			 const struct snapshot_header *hdr)
{
	put_record(buf, SNAPSHOT_HEADER, 8 + 8);
	persist_put_u64(buf, hdr->instance);
	persist_put_u64(buf, (uint64_t)hdr->saved_at);
}

void snapshot_put_retained(struct persist_buf *buf,
			   const struct kmqtt_nl_msg *m, time_t now)
{
	uint64_t expires_at = m->expiry ? (uint64_t)now + m->expiry : 0;

	put_record(buf, SNAPSHOT_RETAINED, 1 + 8 + 4 + m->len);
	persist_put_u8(buf, m->qos);
	persist_put_u64(buf, expires_at);
	persist_put_bytes(buf, m->data, (uint32_t)m->len);
}

static int bad(char *err, size_t errlen, size_t record, const char *what)
{
	snprintf(err, errlen, "record %zu: %s", record, what);
	return -EBADMSG;
}

/* One retained message record's body into @m; false if it is not one. */
static bool read_retained(struct persist_reader *r, time_t now,
			  struct kmqtt_nl_msg *m, bool *expired)
{
	struct kmqtt_publish pub;
	const uint8_t *data;
	uint64_t expires_at;
	uint32_t len;

	if (!persist_get_u8(r, &m->qos) || !persist_get_u64(r, &expires_at) ||
	    !persist_get_bytes(r, &data, &len) || r->left || m->qos > 2 ||
	    kmqtt_codec_parse_stored(data, len, &pub))
		return false;
	m->data = data;
	m->len = len;
	m->expiry = 0;
	*expired = false;
	if (!expires_at)
		return true;
	if (expires_at <= (uint64_t)now) {
		*expired = true;
		return true;
	}
	/* What is left, at most what any interval can be. */
	m->expiry = expires_at - (uint64_t)now > UINT32_MAX ?
		    UINT32_MAX : (uint32_t)(expires_at - (uint64_t)now);
	return true;
}

/* One pass over the records: checking only (@fn NULL) or handing out. */
static int snapshot_pass(const void *data, size_t len, time_t now,
			 struct snapshot_header *hdr,
			 struct snapshot_counts *counts,
			 void (*fn)(const struct kmqtt_nl_msg *m, void *arg),
			 void *arg, char *err, size_t errlen)
{
	struct persist_reader r;
	size_t record = 0;

	memset(counts, 0, sizeof(*counts));
	persist_reader_init(&r, data, len);
	while (r.left) {
		struct persist_reader body;
		struct kmqtt_nl_msg m;
		const uint8_t *p;
		uint32_t body_len;
		bool expired;
		uint8_t type;

		record++;
		if (!persist_get_u8(&r, &type) ||
		    !persist_get_bytes(&r, &p, &body_len))
			return bad(err, errlen, record, "cut short");
		persist_reader_init(&body, p, body_len);
		if (record == 1 && type != SNAPSHOT_HEADER)
			return bad(err, errlen, record, "no header first");
		switch (type) {
		case SNAPSHOT_HEADER:
			if (record != 1 ||
			    !persist_get_u64(&body, &hdr->instance) ||
			    !persist_get_u64(&body, (uint64_t *)&hdr->saved_at) ||
			    body.left)
				return bad(err, errlen, record,
					   "not a header");
			break;
		case SNAPSHOT_RETAINED:
			if (!read_retained(&body, now, &m, &expired))
				return bad(err, errlen, record,
					   "not a retained message");
			if (expired) {
				counts->expired++;
				break;
			}
			counts->retained++;
			if (fn)
				fn(&m, arg);
			break;
		default:
			return bad(err, errlen, record,
				   "a type this kmqttd does not know");
		}
	}
	if (!record)
		return bad(err, errlen, 0, "no header");
	return 0;
}

int snapshot_read(const void *data, size_t len, time_t now,
		  struct snapshot_header *hdr, struct snapshot_counts *counts,
		  void (*fn)(const struct kmqtt_nl_msg *m, void *arg),
		  void *arg, char *err, size_t errlen)
{
	int rc = snapshot_pass(data, len, now, hdr, counts, NULL, NULL, err,
			       errlen);

	if (rc || !fn)
		return rc;
	return snapshot_pass(data, len, now, hdr, counts, fn, arg, err,
			     errlen);
}
