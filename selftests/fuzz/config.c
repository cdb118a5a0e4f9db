// SPDX-License-Identifier: GPL-2.0
/*
 * agent/config.c (with limits.c): a configuration file and the files of
 * one include_dir, written to a private directory.  Every include_dir line
 * is pointed at that directory, so the parser reads nothing else.
 *
 * Checked: a failed load leaves @cfg empty and says why; a successful one
 * has listeners with valid ports, no two on the same socket, the default
 * listener (at most one) first, and Mosquitto's local only mode exactly
 * when no listener is configured; warnings name their file.
 *
 * Input: NUL-separated parts: the main file, then the included files
 * (a.conf, B.conf, b.conf: include_order() sorts them), then one byte
 * whose bits give -b and -p.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/config.h"

#include "fuzz.h"

static const char *const included[] = { "a.conf", "B.conf", "b.conf" };

static char *inc_dir;

/*
 * @text with the argument of each include_dir line (as parse_line() finds
 * the directive: after blanks, up to a blank) replaced by inc_dir.
 */
static char *redirect_include_dir(const char *text)
{
	char *out = NULL, *line, *copy, *next;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	copy = strdup(text);
	if (!f || !copy)
		abort();
	for (line = copy; line; line = next) {
		const char *name = line + strspn(line, " \t");
		size_t n = strcspn(name, " \t\n");

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (n == strlen("include_dir") &&
		    !strncmp(name, "include_dir", n))
			fprintf(f, "include_dir %s", inc_dir);
		else
			fputs(line, f);
		if (next)
			fputc('\n', f);
	}
	fclose(f);
	free(copy);
	return out;
}

static void write_part(const char *name, const char *text)
{
	char *redirected = redirect_include_dir(text);

	fuzz_write_file(name, redirected, strlen(redirected));
	free(redirected);
}

static void warn(const char *msg, void *arg)
{
	const char *dir = arg;

	FUZZ_CHECK(!strncmp(msg, dir, strlen(dir)) && strchr(msg, ':'));
}

static bool port_valid(const char *port)
{
	char *end;
	long v = strtol(port, &end, 10);

	return port[0] >= '1' && port[0] <= '9' && !*end && v <= 65535;
}

/* A file setting is set together with where it was set. */
static void check_security(const struct config_security *sec)
{
	FUZZ_CHECK(!sec->password_file == !sec->password_file_where);
	FUZZ_CHECK(!sec->acl_file == !sec->acl_file_where);
}

static void check_config(const struct config *cfg, const char *cli_addr,
			 const char *cli_port)
{
	size_t i, j;

	for (i = 0; i < cfg->listener_count; i++) {
		const struct config_listener *l = &cfg->listeners[i];

		FUZZ_CHECK(l->where);
		FUZZ_CHECK(port_valid(l->port) ||
			   (l->is_default && cli_port &&
			    !strcmp(l->port, cli_port)));
		FUZZ_CHECK(!l->is_default || i == 0);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!config_listener_same_socket(l,
							&cfg->listeners[j]));
	}
	if (cfg->local_only) {
		FUZZ_CHECK(cfg->listener_count == 1 && !cli_addr && !cli_port);
		FUZZ_CHECK(cfg->listeners[0].is_default &&
			   !strcmp(cfg->listeners[0].addr,
				   CONFIG_LOCAL_ONLY_ADDR));
	}
	FUZZ_CHECK(cfg->listener_count >= 1);
	if (cli_addr || cli_port)
		FUZZ_CHECK(cfg->listener_count && cfg->listeners[0].is_default);
	check_security(&cfg->security);
	for (i = 0; i < cfg->listener_count; i++)
		check_security(&cfg->listeners[i].security);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config empty;
	char *main_text = fuzz_part(data, size, 0), *part, *path, err[512];
	const char *cli_addr = NULL, *cli_port = NULL;
	struct config cfg;
	unsigned int i;
	char name[32];
	int rc;

	if (!inc_dir) {
		if (asprintf(&inc_dir, "%s/inc", fuzz_dir()) < 0 ||
		    mkdir(inc_dir, 0700))
			abort();
	}
	for (i = 0; i < ARRAY_SIZE(included); i++) {
		part = fuzz_part(data, size, 1 + i);
		snprintf(name, sizeof(name), "inc/%s", included[i]);
		write_part(name, part ? part : "");
		free(part);
	}
	part = fuzz_part(data, size, 1 + ARRAY_SIZE(included));
	if (part && part[0] & 1)
		cli_addr = "127.0.0.2";
	if (part && part[0] & 2)
		cli_port = "0";
	free(part);
	write_part("main.conf", main_text);
	free(main_text);
	if (asprintf(&path, "%s/main.conf", fuzz_dir()) < 0)
		abort();

	err[0] = '\0';
	rc = config_load(&cfg, path, cli_addr, cli_port, warn,
			 (void *)fuzz_dir(), err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(rc == -1 && err[0]);
		FUZZ_CHECK(!memcmp(&cfg, &empty, sizeof(cfg)));
	} else {
		check_config(&cfg, cli_addr, cli_port);
		config_free(&cfg);
	}
	free(path);
	return 0;
}
