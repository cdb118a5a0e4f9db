/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Persistence (Documentation/persistence.rst): kmqttd keeps a snapshot of
 * what kmqtt.ko holds in a file, saved at exit and every
 * autosave_interval seconds (or changes), and hands it back to a module
 * whose state was made anew since (reloaded, or the box rebooted).  A
 * module that kept its state is right: the snapshot is older.
 */
#ifndef KMQTTD_PERSIST_H
#define KMQTTD_PERSIST_H

#include <linux/limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "kmqtt_nl.h"

struct persist {
	struct kmqtt_nl *nl;
	bool configured;		/* at start; a reload keeps the file */
	bool enabled;
	char dir[PATH_MAX];
	char name[NAME_MAX + 1];
	unsigned int interval;		/* seconds, or changes; 0: none */
	bool on_changes;
	uint64_t next_ms;		/* loop_now_ms() of the next look */
	uint64_t changes_saved;		/* the module's count when saved */
	/*
	 * An autosave under way in a child process, so that kmqttd's loop
	 * goes on serving CONNECTs meanwhile: its pid (0: none), and the
	 * module's count of changes when it began.
	 */
	pid_t saver;
	uint64_t saver_changes;
	/*
	 * kmqtt_save_before_ack: the module holds QoS 1/2 acks until a save
	 * holds their message, and kmqttd saves whenever some wait.  The
	 * number of the last ack held when the autosave under way began,
	 * which it sends (0: none), the last one a save sent, and when to
	 * look for held acks next.
	 */
	bool save_before_ack;
	uint64_t saver_ack_seq;
	uint64_t ack_saved;
	uint64_t next_ack_ms;
};

void persist_init(struct persist *p, struct kmqtt_nl *nl);

/*
 * Take @cfg's settings at start.  On reload, only the autosave ones and
 * kmqtt_save_before_ack (given to the module at once):
 * where the snapshot is, and whether there is one, is kept until
 * kmqttd restarts (a warning says so).  Returns 0, or -EINVAL with @err
 * when they name no file.
 */
int persist_configure(struct persist *p, const struct config_persistence *cfg,
		      uint64_t now_ms, char *err, size_t errlen);

/*
 * At start, before clients come: restore the snapshot if the module made
 * its state anew since it was saved, then save.  A damaged snapshot is
 * logged and kept aside, and kmqttd starts without it.  Returns 0, or
 * -errno with @err when the snapshot cannot be read at all.
 */
int persist_start(struct persist *p, uint64_t now_ms, char *err,
		  size_t errlen);

/*
 * Tell the module whether to hold acks, once kmqttd is about to serve
 * (a start that fails does not leave them held for a kmqttd that is
 * gone); those an earlier kmqttd left held go out if they no longer are.
 * Returns 0 or -errno, logged.
 */
int persist_hold_acks(struct persist *p);

/*
 * Save now, in this process (at exit), after an autosave under way is
 * stopped; failures are logged.  Returns 0 or -errno.
 */
int persist_save(struct persist *p);

/* Milliseconds until persist_tick() has work, or -1. */
int persist_timeout(const struct persist *p, uint64_t now_ms);

/*
 * Autosave, when it is due or, with kmqtt_save_before_ack, when acks
 * wait: in a child process with a netlink socket of its own, which dies
 * with kmqttd; one at a time.  Also reaps the child of the last one.
 */
void persist_tick(struct persist *p, uint64_t now_ms);

#endif /* KMQTTD_PERSIST_H */
