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
};

void persist_init(struct persist *p, struct kmqtt_nl *nl);

/*
 * Take @cfg's settings at start.  On reload, only the autosave ones:
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
 * Save now, in this process (at exit), after an autosave under way is
 * stopped; failures are logged.  Returns 0 or -errno.
 */
int persist_save(struct persist *p);

/* Milliseconds until persist_tick() has work, or -1. */
int persist_timeout(const struct persist *p, uint64_t now_ms);

/*
 * Autosave, when it is due: in a child process with a netlink socket of
 * its own, which dies with kmqttd; one at a time.  Also reaps the child
 * of the last one.
 */
void persist_tick(struct persist *p, uint64_t now_ms);

#endif /* KMQTTD_PERSIST_H */
