/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scram_file: the SCRAM-SHA-256 secrets of the users, one a line,
 *	USER:SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY
 * with SALT, STOREDKEY and SERVERKEY in base64 (the form PostgreSQL
 * stores).  Read as credfile.h says; `kmqttd --scram-entry USER` writes
 * a line (scram_file_line()).
 */
#ifndef KMQTTD_SCRAM_FILE_H
#define KMQTTD_SCRAM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "scram.h"

/* Salt bytes and iterations of a new line. */
#define SCRAM_FILE_SALT_LEN	16
#define SCRAM_FILE_ITERATIONS	SCRAM_ITERATIONS_MIN

struct scram_file;

/* Load @path; NULL with @err "PATH:LINE: what is wrong" or "PATH: ...". */
struct scram_file *scram_file_load(const char *path, char *err,
				   size_t errlen);
void scram_file_free(struct scram_file *f);

/*
 * The secret of @user (@len bytes) and its name as the file has it, or
 * NULL with *@secret a made-up one, the same for each unknown name while
 * the file is loaded, so that the exchange does not tell who exists.
 */
const char *scram_file_find(const struct scram_file *f, const uint8_t *user,
			    size_t len, struct scram_secret *secret);

/*
 * The line of @user with @password (@len bytes), a fresh salt and
 * SCRAM_FILE_ITERATIONS, without newline, allocated; NULL with @err set
 * when @user cannot be in the file or out of memory.
 */
char *scram_file_line(const char *user, const uint8_t *password, size_t len,
		      char *err, size_t errlen);

#endif /* KMQTTD_SCRAM_FILE_H */
