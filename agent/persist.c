// SPDX-License-Identifier: GPL-2.0
/*
 * When kmqttd saves the module's state and when it gives it back.  The
 * module's retained messages, persistent sessions, their subscriptions
 * and the messages on their way to them come out through dumps and go
 * back one request each; the file is
 * agent/persist_file.c's, its records agent/snapshot.c's.
 */
#define _GNU_SOURCE		/* close_range() */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"
#include "loop.h"
#include "persist.h"
#include "persist_file.h"
#include "snapshot.h"

/* How often autosave_on_changes reads the module's counters. */
#define PERSIST_CHANGES_POLL_MS	1000
/* How often an autosave under way is looked at. */
#define PERSIST_SAVER_POLL_MS	100
/*
 * kmqtt_save_before_ack: how often kmqttd looks for acks that wait for a
 * save, and for the end of the save they wait for; after a failed save,
 * how long they wait for the next try.
 */
#define PERSIST_ACK_POLL_MS	10
#define PERSIST_ACK_RETRY_MS	1000

void persist_init(struct persist *p, struct kmqtt_nl *nl)
{
	memset(p, 0, sizeof(*p));
	p->nl = nl;
}

/*
 * Tell the module whether acks wait for a save (@hold), and take it as
 * kmqttd's setting once it knows.  Those an earlier kmqttd left waiting
 * go out if they no longer do, or with the next save.
 */
static int hold_acks(struct persist *p, bool hold)
{
	struct kmqtt_nl_ack_hold out;
	int rc = kmqtt_nl_ack_hold(p->nl, hold, 0, &out);

	if (rc) {
		log_error("kmqtt_save_before_ack: %s", p->nl->error);
		return rc;
	}
	p->save_before_ack = hold;
	p->next_ack_ms = 0;
	return 0;
}

/*
 * With kmqtt_save_before_ack, the number of the last ack held: a save
 * that begins after this holds the messages of all up to it.  0: none.
 */
static uint64_t acks_to_release(struct persist *p)
{
	struct kmqtt_nl_ack_hold out;

	if (!p->save_before_ack)
		return 0;
	if (kmqtt_nl_ack_hold(p->nl, -1, 0, &out)) {
		log_error("kmqtt_save_before_ack: %s", p->nl->error);
		return 0;
	}
	return out.seq;
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

	/* Acks would wait for a save that never comes. */
	if (cfg->save_before_ack &&
	    !(p->configured ? p->enabled : cfg->enabled)) {
		snprintf(err, errlen,
			 "kmqtt_save_before_ack true needs persistence true%s",
			 p->configured ? " at start" : "");
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "persistence_location%s: %s",
			 cfg->file ? " and persistence_file" : "",
			 rc == -EINVAL ? "the path ends with no file name" :
			 "the path is too long");
		return -EINVAL;
	}
	if (p->configured &&
	    (p->enabled != cfg->enabled || strcmp(p->dir, dir) ||
	     strcmp(p->name, name))) {
		/* A snapshot there would be overwritten, not restored. */
		if (p->enabled)
			log_warning("persistence, persistence_location and persistence_file take effect when kmqttd restarts: still saving to %s/%s.",
				    p->dir, p->name);
		else
			log_warning("persistence, persistence_location and persistence_file take effect when kmqttd restarts: persistence stays off.");
	} else {
		memcpy(p->dir, dir, sizeof(dir));
		memcpy(p->name, name, sizeof(name));
		p->enabled = cfg->enabled;
	}
	if (!p->configured || p->interval != cfg->autosave_interval ||
	    p->on_changes != cfg->autosave_on_changes) {
		p->interval = cfg->autosave_interval;
		p->on_changes = cfg->autosave_on_changes;
		plan_next(p, now_ms);
	}
	/* At start, persist_start() tells the module, once it saved. */
	if (!p->configured)
		p->save_before_ack = cfg->save_before_ack;
	else if (p->save_before_ack != cfg->save_before_ack &&
		 hold_acks(p, cfg->save_before_ack))
		log_error("kmqtt_save_before_ack stays %s.",
			  p->save_before_ack ? "true" : "false");
	p->configured = true;
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
	/* Taken before the messages, written after the sessions. */
	struct persist_buf qos2;
	time_t now;
	size_t retained, sessions, subscriptions, session_msgs;
	/* Client ids of the sessions saved, sorted once all are in. */
	char **ids;
	size_t n_ids, room;
	bool no_memory;
};

static void save_retained(const struct kmqtt_nl_msg *m, void *arg)
{
	struct save_walk *w = arg;

	if (!snapshot_keeps_retained(m))
		return;
	snapshot_put_retained(w->buf, m, w->now);
	w->retained++;
}

/* Sessions that end with their connection have nothing to keep. */
static void save_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct save_walk *w = arg;
	char *id;

	if (s->clean_session)
		return;
	if (w->n_ids == w->room) {
		size_t room = w->room ? w->room * 2 : 64;
		char **ids = realloc(w->ids, room * sizeof(*ids));

		if (!ids) {
			w->no_memory = true;
			return;
		}
		w->ids = ids;
		w->room = room;
	}
	id = strdup(s->client_id);
	if (!id) {
		w->no_memory = true;
		return;
	}
	w->ids[w->n_ids++] = id;
	snapshot_put_session(w->buf, s, w->now);
	w->sessions++;
}

static int compare_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Was the session of @id saved?  A clean one's belongings go with it. */
static bool session_saved(const struct save_walk *w, const char *id)
{
	return bsearch(&id, w->ids, w->n_ids, sizeof(*w->ids), compare_ids);
}

static void save_subscription(const struct kmqtt_nl_subscription *s,
			      void *arg)
{
	struct save_walk *w = arg;

	if (!session_saved(w, s->client_id))
		return;
	snapshot_put_subscription(w->buf, s);
	w->subscriptions++;
}

static void save_session_msg(const struct kmqtt_nl_session_msg *sm,
			     void *arg)
{
	struct save_walk *w = arg;

	if (!session_saved(w, sm->client_id))
		return;
	snapshot_put_session_msg(w->buf, sm, w->now);
	w->session_msgs++;
}

static void save_session_qos2(const char *client_id, const uint16_t *ids,
			      size_t n, void *arg)
{
	struct save_walk *w = arg;

	if (session_saved(w, client_id))
		snapshot_put_session_qos2(&w->qos2, client_id, ids, n);
}

/*
 * The module's state into @buf: 0, or -errno with the reason logged.
 * The inbound QoS 2 ids are read before the messages: one that comes in
 * between is then at worst delivered twice after a restore, never
 * acknowledged without its message having been saved.
 */
static int save_records(struct persist *p, struct save_walk *w)
{
	int rc = kmqtt_nl_dump_sessions(p->nl, save_session, w);

	if (!rc) {
		qsort(w->ids, w->n_ids, sizeof(*w->ids), compare_ids);
		rc = kmqtt_nl_dump_session_qos2(p->nl, save_session_qos2, w);
	}
	if (!rc)
		rc = kmqtt_nl_dump_retained(p->nl, save_retained, w);
	if (!rc)
		rc = kmqtt_nl_dump_subscriptions(p->nl, save_subscription, w);
	if (!rc)
		rc = kmqtt_nl_dump_session_msgs(p->nl, save_session_msg, w);
	if (rc) {
		log_error("Saving %s/%s: %s", p->dir, p->name, p->nl->error);
		return rc;
	}
	/* Restored after the sessions they belong to. */
	persist_buf_append(w->buf, &w->qos2);
	if (w->no_memory || w->buf->failed) {
		log_error("Saving %s/%s: out of memory", p->dir, p->name);
		return -ENOMEM;
	}
	return 0;
}

/*
 * A save in this process, with p->nl; then the acks numbered up to
 * @ack_seq (0: none), read before it began, go out.
 */
static int save(struct persist *p, uint64_t ack_seq)
{
	uint64_t start_ms = loop_now_ms();
	struct snapshot_header hdr;
	struct kmqtt_nl_info info;
	struct persist_buf buf;
	struct save_walk walk;
	char err[512];
	size_t i;
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
	persist_buf_init(&walk.qos2);
	rc = save_records(p, &walk);
	if (!rc) {
		rc = persist_file_save(p->dir, p->name, buf.data, buf.len, err,
				       sizeof(err));
		if (rc)
			log_error("Saving: %s", err);
	}
	if (!rc && ack_seq) {
		struct kmqtt_nl_ack_hold out;

		rc = kmqtt_nl_ack_hold(p->nl, -1, ack_seq, &out);
		if (rc)
			log_error("Saving %s/%s: sending the acks it holds: %s",
				  p->dir, p->name, p->nl->error);
		else if (ack_seq > p->ack_saved)
			p->ack_saved = ack_seq;
	}
	if (!rc)
		p->changes_saved = changes_of(&info);
	/* Saves for held acks come many a second: the slow ones are news. */
	if (!rc && (!ack_seq || loop_now_ms() - start_ms >= 1000))
		log_verbose("Saved %zu retained messages, %zu sessions, %zu subscriptions and %zu messages of sessions to %s/%s (%zu bytes in %llu ms).",
			    walk.retained, walk.sessions, walk.subscriptions,
			    walk.session_msgs, p->dir, p->name, buf.len,
			    (unsigned long long)(loop_now_ms() - start_ms));
	for (i = 0; i < walk.n_ids; i++)
		free(walk.ids[i]);
	free(walk.ids);
	persist_buf_free(&walk.qos2);
	persist_buf_free(&buf);
	return rc;
}

/* The autosave's child: a netlink socket of its own, one save. */
static void saver_run(struct persist *p, pid_t parent)
{
	struct kmqtt_nl nl;
	sigset_t none;

	/* Not outliving kmqttd: its successor's save waits for this one. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	/*
	 * None of kmqttd's descriptors but the log (stderr): a client or a
	 * listener kmqttd closes must close, not live on here for the save.
	 * kmqttd's signals, which it blocks for its signalfd, stop this too.
	 */
	close_range(3, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (kmqtt_nl_open(&nl)) {
		log_error("Autosave: %s", nl.error);
		_exit(1);
	}
	p->nl = &nl;
	_exit(save(p, p->saver_ack_seq) ? 1 : 0);
}

/*
 * An autosave of the module's state when its count was @changes, which
 * sends the acks numbered up to @ack_seq.
 */
static void saver_start(struct persist *p, uint64_t changes,
			uint64_t ack_seq)
{
	pid_t parent = getpid(), pid;

	/* What the log holds goes out once, not once per process. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("Autosave: fork: %s; saving in kmqttd's loop.",
			  strerror(errno));
		save(p, ack_seq);
		/* Not a save in the loop per poll while fork fails. */
		p->next_ack_ms = loop_now_ms() + PERSIST_ACK_RETRY_MS;
		return;
	}
	p->saver_ack_seq = ack_seq;
	if (!pid)
		saver_run(p, parent);
	if (!p->save_before_ack)
		log_verbose("Autosave to %s/%s: started (process %d).",
			    p->dir, p->name, (int)pid);
	p->saver = pid;
	p->saver_changes = changes;
}

/* The autosave's end, if it is over or, @wait, once it is. */
static void saver_reap(struct persist *p, bool wait)
{
	int status;
	pid_t pid;

	if (!p->saver)
		return;
	pid = waitpid(p->saver, &status, wait ? 0 : WNOHANG);
	if (!pid)
		return;
	if (pid == p->saver && WIFEXITED(status) && !WEXITSTATUS(status)) {
		p->changes_saved = p->saver_changes;
		if (p->saver_ack_seq > p->ack_saved)
			p->ack_saved = p->saver_ack_seq;
		p->saver = 0;
		return;
	}
	/* Held acks wait a while: not a save per poll while it fails. */
	p->next_ack_ms = loop_now_ms() + PERSIST_ACK_RETRY_MS;
	if (wait)
		log_verbose("Autosave to %s/%s: stopped for the save at exit.",
			    p->dir, p->name);
	else if (pid == p->saver && WIFSIGNALED(status))
		log_error("Autosave to %s/%s: killed by signal %d.", p->dir,
			  p->name, WTERMSIG(status));
	else
		log_error("Autosave to %s/%s failed (see above).", p->dir,
			  p->name);
	p->saver = 0;
}

int persist_save(struct persist *p)
{
	/* Begun earlier than this one: it would add nothing. */
	if (p->saver) {
		kill(p->saver, SIGKILL);
		saver_reap(p, true);
	}
	return save(p, acks_to_release(p));
}

/* What a restore did with each kind of record. */
struct restore_tally {
	size_t done, refused;
	char first_error[256];
};

struct restore_walk {
	struct kmqtt_nl *nl;
	struct restore_tally retained, sessions, subscriptions, session_msgs;
	struct restore_tally session_qos2;
};

static void tally(struct restore_tally *t, struct kmqtt_nl *nl, int rc)
{
	if (!rc) {
		t->done++;
		return;
	}
	if (!t->refused++)
		snprintf(t->first_error, sizeof(t->first_error), "%s",
			 nl->error);
}

static void restore_retained(const struct kmqtt_nl_msg *m, void *arg)
{
	struct restore_walk *w = arg;

	/* A snapshot from before they were left out may hold $SYS ones. */
	if (snapshot_keeps_retained(m))
		tally(&w->retained, w->nl, kmqtt_nl_set_retained(w->nl, m));
}

/* One an earlier start restored, and did not get to save, is replaced. */
static void restore_session(const struct kmqtt_nl_session *s, void *arg)
{
	struct restore_walk *w = arg;

	tally(&w->sessions, w->nl, kmqtt_nl_set_session(w->nl, s));
}

static void restore_subscription(const struct kmqtt_nl_subscription *s,
				 void *arg)
{
	struct restore_walk *w = arg;

	tally(&w->subscriptions, w->nl, kmqtt_nl_set_subscription(w->nl, s));
}

static void restore_session_msg(const struct kmqtt_nl_session_msg *sm,
				void *arg)
{
	struct restore_walk *w = arg;

	tally(&w->session_msgs, w->nl, kmqtt_nl_set_session_msg(w->nl, sm));
}

static void restore_session_qos2(const char *client_id, const uint16_t *ids,
				 size_t n, void *arg)
{
	struct restore_walk *w = arg;

	tally(&w->session_qos2, w->nl,
	      kmqtt_nl_set_session_qos2(w->nl, client_id, ids, n));
}

static size_t report_refused(const struct persist *p, const char *what,
			     const struct restore_tally *t)
{
	if (t->refused)
		log_error("%s/%s: %zu %s not restored: %s", p->dir, p->name,
			  t->refused, what, t->first_error);
	return t->refused;
}

/*
 * The snapshot is not the module's state and the save after start would
 * replace it: keep it under a name of its own.
 */
static int keep_aside(const struct persist *p, const char *kind,
		      const char *why, char *err, size_t errlen)
{
	char msg[1024];
	int rc = persist_file_keep(p->dir, p->name, kind, why, msg,
				   sizeof(msg));

	if (rc) {
		snprintf(err, errlen, "%s", msg);
		return rc;
	}
	log_warning("%s", msg);
	return 0;
}

/*
 * The snapshot's records are all good (snapshot_read() checked them):
 * hand them to a module whose state is not the one they were saved from.
 */
static int restore(struct persist *p, const void *data, size_t len,
		   char *err, size_t errlen)
{
	struct restore_walk walk = { .nl = p->nl };
	const struct snapshot_visitor visitor = {
		.retained = restore_retained,
		.session = restore_session,
		.subscription = restore_subscription,
		.session_msg = restore_session_msg,
		.session_qos2 = restore_session_qos2,
		.arg = &walk,
	};
	struct snapshot_counts counts;
	struct snapshot_header hdr;
	struct kmqtt_nl_info info;
	char why[256];
	int rc;

	rc = snapshot_read(data, len, time(NULL), &hdr, &counts, NULL, why,
			   sizeof(why));
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
	/*
	 * Made anew since the save, but clients came since (kmqttd ran
	 * without this snapshot): the module's state is the newer one.
	 */
	if (info.stats[KMQTT_STAT_CONNECTIONS_TOTAL])
		return keep_aside(p, "older",
				  "kmqtt.ko was loaded again and has served clients since: its state is newer, the snapshot is not restored",
				  err, errlen);
	snapshot_read(data, len, time(NULL), &hdr, &counts, &visitor, why,
		      sizeof(why));
	log_verbose("Restored %zu retained messages, %zu sessions, %zu subscriptions and %zu messages of sessions from %s/%s (%zu expired meanwhile).",
		    walk.retained.done, walk.sessions.done,
		    walk.subscriptions.done, walk.session_msgs.done, p->dir,
		    p->name, counts.expired);
	if (report_refused(p, "retained messages", &walk.retained) +
	    report_refused(p, "sessions", &walk.sessions) +
	    report_refused(p, "subscriptions", &walk.subscriptions) +
	    report_refused(p, "messages of sessions", &walk.session_msgs) +
	    report_refused(p, "sessions' QoS 2 packet id lists",
			   &walk.session_qos2))
		return keep_aside(p, "partial",
				  "not all of it was restored (see above)",
				  err, errlen);
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
	if (rc) {
		snprintf(err, errlen, "cannot save to %s/%s (see above)",
			 p->dir, p->name);
		return rc;
	}
	plan_next(p, now_ms);
	return 0;
}

int persist_hold_acks(struct persist *p)
{
	return hold_acks(p, p->save_before_ack);
}

int persist_timeout(const struct persist *p, uint64_t now_ms)
{
	uint64_t due = p->next_ms, left;	/* 0: nothing due */

	if (p->saver) {
		left = p->save_before_ack ? PERSIST_ACK_POLL_MS :
		       PERSIST_SAVER_POLL_MS;
		if (!due || due > now_ms + left)
			due = now_ms + left;
	} else if (p->save_before_ack && (!due || p->next_ack_ms < due)) {
		due = p->next_ack_ms ? p->next_ack_ms : now_ms;
	}
	if (!due)
		return -1;
	if (due <= now_ms)
		return 0;
	left = due - now_ms;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* kmqtt_save_before_ack: a save, if acks wait for one. */
static void save_held_acks(struct persist *p, uint64_t now_ms)
{
	struct kmqtt_nl_ack_hold out;
	struct kmqtt_nl_info info;

	p->next_ack_ms = now_ms + PERSIST_ACK_POLL_MS;
	if (kmqtt_nl_ack_hold(p->nl, -1, 0, &out) ||
	    (out.seq > p->ack_saved && kmqtt_nl_get_info(p->nl, &info))) {
		log_error("kmqtt_save_before_ack: %s", p->nl->error);
		p->next_ack_ms = now_ms + PERSIST_ACK_RETRY_MS;
		return;
	}
	if (out.seq > p->ack_saved)
		saver_start(p, changes_of(&info), out.seq);
	else if (out.seq < p->ack_saved)
		/* A module loaded anew numbers from 1 again. */
		p->ack_saved = out.seq;
}

void persist_tick(struct persist *p, uint64_t now_ms)
{
	struct kmqtt_nl_info info;

	saver_reap(p, false);
	if (p->save_before_ack && !p->saver && now_ms >= p->next_ack_ms)
		save_held_acks(p, now_ms);
	if (!p->next_ms || now_ms < p->next_ms)
		return;
	/* One at a time: a save still under way skips this turn. */
	if (p->saver) {
		plan_next(p, now_ms);
		return;
	}
	if (kmqtt_nl_get_info(p->nl, &info))
		log_error("Autosave: %s", p->nl->error);
	else if (!p->on_changes ||
		 changes_of(&info) - p->changes_saved >= p->interval)
		saver_start(p, changes_of(&info), acks_to_release(p));
	plan_next(p, now_ms);
}
