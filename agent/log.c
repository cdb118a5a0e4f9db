// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static bool log_verbose_enabled;

void log_init(bool verbose)
{
	log_verbose_enabled = verbose;
}

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024];

	/* One write per line: stderr is unbuffered. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%lld: %s%s\n", (long long)time(NULL), prefix, msg);
}

void log_verbose(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose_enabled)
		return;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void log_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("Warning: ", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("Error: ", fmt, ap);
	va_end(ap);
}
