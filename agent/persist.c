// SPDX-License-Identifier: GPL-2.0
/*
 * When kmqttd saves the module's state and when it gives it back.  The
 * module's retained messages come out through a dump and go back one
 * request each; the file is agent/persist_file.c's, its records
 * agent/snapshot.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "persist.h"
#include "persist_file.h"
#include "snapshot.h"

/* How often autosave_on_changes reads the module's counters. */
#define PERSIST_CHANGES_POLL_MS	1000

void persist_init(struct persist *p, struct kmqtt_nl *nl)
{
	memset(p, 0, sizeof(*p));
	p->nl = nl;
}

static void plan_next(struct persist *p, uint64_t now_ms)
{
	if (!p->enabled || !p->interval)
		p->next_ms = 0;
	else if (p->on_changes)
		p->next_ms = now_ms + PERSIST_CHANGES_POLL_MS;
	else
		p->next_ms = now_ms + (uint64_t)p->interval * 1000;
}

int persist_configure(struct persist *p, const struct config_persistence *cfg,
		      uint64_t now_ms, char *err, size_t errlen)
{
	char dir[sizeof(p->dir)], name[sizeof(p->name)];
	int rc = config_persistence_path(cfg, dir, sizeof(dir), name,
					 sizeof(name));

	if (rc) {
		snprintf(err, errlen, "persistence_location%s: %s",
			 cfg->file ? " and persistence_file" : "",
			 rc == -EINVAL ? "the path ends with no file name" :
			 "the path is too long");
		return -EINVAL;
	}
	memcpy(p->dir, dir, sizeof(dir));
	memcpy(p->name, name, sizeof(name));
	p->enabled = cfg->enabled;
	p->interval = cfg->autosave_interval;
	p->on_changes = cfg->autosave_on_changes;
	plan_next(p, now_ms);
	return 0;
}

/*
 * What autosave_on_changes counts: PUBLISH packets received and
 * connections attached, the events that change retained messages,
 * sessions and their queues.
 */
static uint64_t changes_of(const struct kmqtt_nl_info *info)
{
	return info->stats[KMQTT_STAT_MSGS_IN] +
	       info->stats[KMQTT_STAT_CONNECTIONS_TOTAL];
}

struct save_walk {
	struct persist_buf *buf;
	time_t now;
	size_t retained;
};

static void save_retained(const struct kmqtt_nl_msg *m, void *arg)
{
	struct save_walk *w = arg;

	snapshot_put_retained(w->buf, m, w->now);
	w->retained++;
}

int persist_save(struct persist *p)
{
	struct snapshot_header hdr;
	struct kmqtt_nl_info info;
	struct persist_buf buf;
	struct save_walk walk;
	char err[512];
	int rc;

	if (!p->enabled)
		return 0;
	rc = kmqtt_nl_get_info(p->nl, &info);
	if (rc) {
		log_error("Saving %s/%s: %s", p->dir, p->name, p->nl->error);
		return rc;
	}
	persist_buf_init(&buf);
	hdr.instance = info.instance;
	hdr.saved_at = time(NULL);
	snapshot_put_header(&buf, &hdr);
	walk = (struct save_walk){ .buf = &buf, .now = hdr.saved_at };
	rc = kmqtt_nl_dump_retained(p->nl, save_retained, &walk);
	if (rc) {
		log_error("Saving %s/%s: %s", p->dir, p->name, p->nl->error);
		goto out;
	}
	if (buf.failed) {
		rc = -ENOMEM;
		log_error("Saving %s/%s: out of memory", p->dir, p->name);
		goto out;
	}
	rc = persist_file_save(p->dir, p->name, buf.data, buf.len, err,
			       sizeof(err));
	if (rc) {
		log_error("Saving: %s", err);
		goto out;
	}
	p->changes_saved = changes_of(&info);
	log_verbose("Saved %zu retained messages to %s/%s.", walk.retained,
		    p->dir, p->name);
out:
	persist_buf_free(&buf);
	return rc;
}

struct restore_walk {
	struct kmqtt_nl *nl;
	size_t restored, refused;
	char first_error[256];
};

static void restore_retained(const struct kmqtt_nl_msg *m, void *arg)
{
	struct restore_walk *w = arg;

	if (!kmqtt_nl_set_retained(w->nl, m)) {
		w->restored++;
		return;
	}
	if (!w->refused++)
		snprintf(w->first_error, sizeof(w->first_error), "%s",
			 w->nl->error);
}

/*
 * The snapshot's records are all good (snapshot_read() checked them):
 * hand them to a module whose state is not the one they were saved from.
 */
static int restore(struct persist *p, const void *data, size_t len,
		   char *err, size_t errlen)
{
	struct restore_walk walk = { .nl = p->nl };
	struct snapshot_counts counts;
	struct snapshot_header hdr;
	struct kmqtt_nl_info info;
	char why[256];
	int rc;

	rc = snapshot_read(data, len, time(NULL), &hdr, &counts, NULL, NULL,
			   why, sizeof(why));
	if (rc) {
		snprintf(err, errlen,
			 "%s/%s: %s; move it away to start without it",
			 p->dir, p->name, why);
		return rc;
	}
	rc = kmqtt_nl_get_info(p->nl, &info);
	if (rc) {
		snprintf(err, errlen, "%s", p->nl->error);
		return rc;
	}
	if (info.instance == hdr.instance) {
		log_verbose("kmqtt.ko kept its state since %s/%s was saved: not restored.",
			    p->dir, p->name);
		return 0;
	}
	snapshot_read(data, len, time(NULL), &hdr, &counts, restore_retained,
		      &walk, why, sizeof(why));
	log_verbose("Restored %zu retained messages from %s/%s (%zu expired meanwhile).",
		    walk.restored, p->dir, p->name, counts.expired);
	if (walk.refused)
		log_error("%s/%s: %zu retained messages not restored: %s",
			  p->dir, p->name, walk.refused, walk.first_error);
	return 0;
}

int persist_start(struct persist *p, uint64_t now_ms, char *err,
		  size_t errlen)
{
	char why[512];
	size_t len;
	void *data;
	int rc;

	if (!p->enabled)
		return 0;
	rc = persist_file_load(p->dir, p->name, &data, &len, why,
			       sizeof(why));
	if (!rc) {
		rc = restore(p, data, len, err, errlen);
		free(data);
		if (rc)
			return rc;
	} else if (rc == -ENOENT) {
		log_verbose("No snapshot %s/%s yet.", p->dir, p->name);
	} else if (rc == -EBADMSG || rc == -EPROTO) {
		log_error("%s; starting without it.", why);
	} else {
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	/* From now on the file names this module's state. */
	rc = persist_save(p);
	if (rc)
		snprintf(err, errlen, "cannot save to %s/%s (see above)",
			 p->dir, p->name);
	plan_next(p, now_ms);
	return rc;
}

int persist_timeout(const struct persist *p, uint64_t now_ms)
{
	if (!p->next_ms)
		return -1;
	return p->next_ms > now_ms ? (int)(p->next_ms - now_ms) : 0;
}

void persist_tick(struct persist *p, uint64_t now_ms)
{
	struct kmqtt_nl_info info;

	if (!p->next_ms || now_ms < p->next_ms)
		return;
	if (!p->on_changes) {
		persist_save(p);
	} else if (kmqtt_nl_get_info(p->nl, &info)) {
		log_error("Autosave: %s", p->nl->error);
	} else if (changes_of(&info) - p->changes_saved >= p->interval) {
		persist_save(p);
	}
	plan_next(p, now_ms);
}
