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

/* A save in this process, with p->nl. */
static int save(struct persist *p)
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
	if (!rc) {
		p->changes_saved = changes_of(&info);
		log_verbose("Saved %zu retained messages, %zu sessions, %zu subscriptions and %zu messages of sessions to %s/%s (%zu bytes in %llu ms).",
			    walk.retained, walk.sessions, walk.subscriptions,
			    walk.session_msgs, p->dir, p->name, buf.len,
			    (unsigned long long)(loop_now_ms() - start_ms));
	}
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
	_exit(save(p) ? 1 : 0);
}

/* An autosave of the module's state when its count was @changes. */
static void saver_start(struct persist *p, uint64_t changes)
{
	pid_t parent = getpid(), pid;

	/* What the log holds goes out once, not once per process. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("Autosave: fork: %s; saving in kmqttd's loop.",
			  strerror(errno));
		save(p);
		return;
	}
	if (!pid)
		saver_run(p, parent);
	log_verbose("Autosave to %s/%s: started (process %d).", p->dir,
		    p->name, (int)pid);
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
	if (pid == p->saver && WIFEXITED(status) && !WEXITSTATUS(status))
		p->changes_saved = p->saver_changes;
	else if (wait)
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
	return save(p);
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
	if (rc)
		snprintf(err, errlen, "cannot save to %s/%s (see above)",
			 p->dir, p->name);
	plan_next(p, now_ms);
	return rc;
}

int persist_timeout(const struct persist *p, uint64_t now_ms)
{
	uint64_t left;

	if (!p->next_ms)
		return p->saver ? PERSIST_SAVER_POLL_MS : -1;
	if (p->next_ms <= now_ms)
		return 0;
	left = p->next_ms - now_ms;
	if (p->saver && left > PERSIST_SAVER_POLL_MS)
		left = PERSIST_SAVER_POLL_MS;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void persist_tick(struct persist *p, uint64_t now_ms)
{
	struct kmqtt_nl_info info;

	saver_reap(p, false);
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
		saver_start(p, changes_of(&info));
	plan_next(p, now_ms);
}
