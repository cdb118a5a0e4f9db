/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kmqttd's snapshot holds (Documentation/persistence.rst): records
 * in a persist_file container.  A header record first (the module
 * instance it was taken from, when), then one record per retained
 * message.  Times are wall-clock seconds, so that an expiry interval
 * keeps running while the box is off.  Reading checks every record
 * before it hands out any, so a snapshot is used whole or not at all.
 */
#ifndef KMQTTD_SNAPSHOT_H
#define KMQTTD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kmqtt_nl.h"
#include "persist_file.h"

struct snapshot_header {
	uint64_t instance;	/* KMQTT_A_INSTANCE of the module saved */
	int64_t saved_at;	/* wall-clock seconds */
};

struct snapshot_counts {
	size_t retained;	/* handed to the callback */
	size_t expired;		/* left out: their expiry passed */
};

void snapshot_put_header(struct persist_buf *buf,
			 const struct snapshot_header *hdr);

/* A retained message @m from a dump at wall-clock time @now. */
void snapshot_put_retained(struct persist_buf *buf,
			   const struct kmqtt_nl_msg *m, time_t now);

/*
 * Check the records of the @len bytes at @data and, when all are good,
 * pass each retained message not expired at @now to @fn (with the seconds
 * it has left; NULL @fn only checks).  Returns 0 with *@hdr and *@counts,
 * or -EBADMSG with @err saying what is wrong and where.
 */
int snapshot_read(const void *data, size_t len, time_t now,
		  struct snapshot_header *hdr, struct snapshot_counts *counts,
		  void (*fn)(const struct kmqtt_nl_msg *m, void *arg),
		  void *arg, char *err, size_t errlen);

#endif /* KMQTTD_SNAPSHOT_H */
