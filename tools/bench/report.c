// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report.h"

/* A busier thread than this may be what limits the rate. */
#define GENERATOR_BOUND	0.90

void counters_sum(const struct bench *b, struct counters *sum)
{
	uint32_t i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < b->opt.threads; i++) {
		const struct counters *c = &b->workers[i].stats;

		sum->published += shared_load(c->published);
		sum->published_bytes += shared_load(c->published_bytes);
		sum->expected += shared_load(c->expected);
		sum->delivered += shared_load(c->delivered);
		sum->delivered_bytes += shared_load(c->delivered_bytes);
		sum->dups += shared_load(c->dups);
		sum->unexpected += shared_load(c->unexpected);
		sum->ready += shared_load(c->ready);
		sum->closed += shared_load(c->closed);
		sum->completed += shared_load(c->completed);
		sum->ack_errors += shared_load(c->ack_errors);
		sum->refused += shared_load(c->refused);
	}
	if (b->opt.limit)
		sum->published = sum->expected = limit_written(b);
}

/*
 * Idle time, not the sum of the busy columns: the kernel keeps idle time
 * exactly (nohz), the busy columns are sampled at each tick, and a guest
 * under emulation misses ticks.
 */
static void read_proc_stat(struct cpu_sample *s)
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return;
	/* user nice system idle iowait */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4]) == 5)
		s->idle_ticks = v[3] + v[4];
	fclose(f);
}

/* utime + stime of a process, fields 14 and 15 of /proc/PID/stat. */
static double read_pid_cpu(pid_t pid)
{
	unsigned long long utime, stime;
	char path[64], line[1024], *p;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	if (!p)
		return -1;
	/* after ")": state (3) and ten more fields before utime */
	ok = sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		    &utime, &stime);
	return ok == 2 ? (double)(utime + stime) / sysconf(_SC_CLK_TCK) : -1;
}

static double clock_seconds(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void cpu_sample(struct cpu_sample *s, const struct bench *b)
{
	struct rusage ru;
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->at_ns = now_ns();
	read_proc_stat(s);
	if (!getrusage(RUSAGE_SELF, &ru))
		s->self_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	s->broker_s = b->opt.broker_pid ? read_pid_cpu(b->opt.broker_pid) : -1;
	for (i = 0; i < b->opt.threads; i++)
		s->thread_s[i] = clock_seconds(b->workers[i].cpu_clock);
	if (b->limit)
		s->thread_s[b->opt.threads] = clock_seconds(limit_cpu_clock(b));
}

static void result_cpu(struct result *r, const struct bench *b,
		       const struct cpu_sample *s0, const struct cpu_sample *s1)
{
	double wall = (s1->at_ns - s0->at_ns) / 1e9, tick;
	uint32_t i, n = b->opt.threads + (b->limit ? 1 : 0);

	r->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	r->nthreads = n;
	if (wall <= 0)
		return;
	tick = 1.0 / sysconf(_SC_CLK_TCK);
	r->cpu_busy = r->ncpus - (s1->idle_ticks - s0->idle_ticks) * tick / wall;
	if (r->cpu_busy < 0)
		r->cpu_busy = 0;
	r->cpu_generator = (s1->self_s - s0->self_s) / wall;
	r->cpu_others = r->cpu_busy - r->cpu_generator;
	if (r->cpu_others < 0)
		r->cpu_others = 0;
	r->cpu_broker_pid = s0->broker_s >= 0 && s1->broker_s >= 0 ?
			    (s1->broker_s - s0->broker_s) / wall : -1;
	for (i = 0; i < n; i++) {
		double t = (s1->thread_s[i] - s0->thread_s[i]) / wall;

		if (t > r->busiest_thread)
			r->busiest_thread = t;
	}
	r->generator_bound = r->busiest_thread >= GENERATOR_BOUND;
}

/* Distinct deliveries and losses, per subscriber and publisher. */
static void result_tracks(struct result *r, const struct bench *b)
{
	uint32_t i, j;

	for (i = 0; i < b->plan.nsubs; i++) {
		const struct subscriber *s = &b->subs[i];

		for (j = 0; j < s->npubs; j++) {
			const struct track *t = &s->track[j];
			uint64_t sent = b->opt.limit ? t->sent :
					b->pubs[s->pubs[j]].sent;

			r->delivered += t->received;
			r->late += t->late;
			if (sent > t->received)
				r->lost += sent - t->received;
		}
	}
	if (b->opt.limit)
		return;
	for (i = 0; i < b->plan.npubs; i++) {
		r->expected += b->pubs[i].sent * b->pubs[i].nsubs;
		r->window_timeouts += b->pubs[i].timed_out;
	}
}

void result_collect(struct result *r, const struct bench *b,
		    const struct cpu_sample *start, const struct cpu_sample *stop,
		    const struct counters *at_stop)
{
	struct counters sum;
	uint32_t i;

	counters_sum(b, &sum);
	r->run_s = (stop->at_ns - start->at_ns) / 1e9;
	r->published = sum.published;
	r->published_bytes = sum.published_bytes;
	r->expected = b->opt.limit ? sum.expected : 0;
	r->dups = sum.dups;
	r->unexpected = sum.unexpected;
	r->closed = sum.closed;
	r->ack_errors = sum.ack_errors;
	r->refused = sum.refused;
	r->delivered_in_run = at_stop->delivered;
	r->delivered_bytes = at_stop->delivered_bytes;
	result_tracks(r, b);
	if (r->run_s > 0) {
		r->publish_rate = at_stop->published / r->run_s;
		r->delivered_rate = at_stop->delivered / r->run_s;
		r->delivered_bytes_rate = at_stop->delivered_bytes / r->run_s;
	}
	hist_init(&r->latency);
	for (i = 0; i < b->opt.threads; i++)
		hist_merge(&r->latency, &b->workers[i].hist);
	result_cpu(r, b, start, stop);
}

static const char *broker_name(const struct bench *b, char *buf, size_t size)
{
	if (b->opt.limit)
		return "limit";
	snprintf(buf, size, "%s:%s", b->opt.host, b->opt.port);
	return buf;
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

/* One flat list of fields, so that JSON and CSV always agree. */
enum field_type { FIELD_STR, FIELD_U64, FIELD_RATE, FIELD_REAL, FIELD_BOOL };

struct field {
	const char *name;
	enum field_type type;
	const char *s;
	uint64_t u;
	double d;
};

#define F_STR(n, v)	{ .name = n, .type = FIELD_STR, .s = v }
#define F_U64(n, v)	{ .name = n, .type = FIELD_U64, .u = v }
#define F_RATE(n, v)	{ .name = n, .type = FIELD_RATE, .d = v }
#define F_REAL(n, v)	{ .name = n, .type = FIELD_REAL, .d = v }
#define F_BOOL(n, v)	{ .name = n, .type = FIELD_BOOL, .u = v }

static size_t result_fields(const struct result *r, const struct bench *b,
			    struct field *f, char *broker, size_t broker_size)
{
	const struct options *o = &b->opt;
	const struct hist *h = &r->latency;
	struct field all[] = {
		F_STR("label", o->label ? o->label : ""),
		F_STR("scenario", plan_scenario_name(o->scenario)),
		F_STR("broker", broker_name(b, broker, broker_size)),
		F_STR("transport", o->ws ? "websockets" : "tcp"),
		F_BOOL("tls", o->tls),
		F_STR("tls_version", b->tls_version ? b->tls_version : ""),
		F_STR("tls_cipher", b->tls_cipher ? b->tls_cipher : ""),
		F_U64("protocol", o->protocol),
		F_U64("sub_protocol", o->sub_protocol),
		F_U64("qos", o->qos),
		F_U64("payload", o->payload),
		F_U64("publishers", b->plan.npubs),
		F_U64("subscribers", b->plan.nsubs),
		F_U64("clients", b->plan.nclients),
		F_U64("deliveries_per_round", plan_deliveries(&b->plan)),
		F_U64("threads", o->threads),
		F_REAL("rate_offered", o->rate),
		F_U64("window", o->window),
		F_U64("inflight", o->inflight),
		F_REAL("setup_s", r->setup_s),
		F_REAL("run_s", r->run_s),
		F_REAL("drain_s", r->drain_s),
		F_U64("published", r->published),
		F_RATE("publish_rate", r->publish_rate),
		F_U64("expected", r->expected),
		F_U64("delivered", r->delivered),
		F_U64("delivered_in_run", r->delivered_in_run),
		F_RATE("delivered_rate", r->delivered_rate),
		F_RATE("delivered_bytes_rate", r->delivered_bytes_rate),
		F_U64("lost", r->lost),
		F_REAL("lost_percent", percent(r->lost, r->expected)),
		F_U64("duplicates", r->dups),
		F_U64("late", r->late),
		F_U64("unexpected", r->unexpected),
		F_U64("window_timeouts", r->window_timeouts),
		F_U64("connections_lost", r->closed),
		F_U64("ack_errors", r->ack_errors),
		F_U64("refused", r->refused),
		F_REAL("latency_p50_us", hist_percentile(h, 50) / 1e3),
		F_REAL("latency_p99_us", hist_percentile(h, 99) / 1e3),
		F_REAL("latency_p999_us", hist_percentile(h, 99.9) / 1e3),
		F_REAL("latency_max_us", h->max / 1e3),
		F_REAL("latency_mean_us", hist_mean(h) / 1e3),
		F_U64("cpus", r->ncpus),
		F_REAL("cpu_busy", r->cpu_busy),
		F_REAL("cpu_generator", r->cpu_generator),
		F_REAL("cpu_others", r->cpu_others),
		F_REAL("cpu_broker_pid", r->cpu_broker_pid),
		F_REAL("busiest_thread", r->busiest_thread),
		F_BOOL("generator_bound", r->generator_bound),
	};

	memcpy(f, all, sizeof(all));
	return sizeof(all) / sizeof(all[0]);
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_value(const struct field *f, bool json)
{
	switch (f->type) {
	case FIELD_STR:
		if (json)
			print_json_string(f->s);
		else
			printf("%s", f->s);
		break;
	case FIELD_U64:
		printf("%" PRIu64, f->u);
		break;
	case FIELD_RATE:
		printf("%.1f", f->d);
		break;
	case FIELD_REAL:
		printf("%.3f", f->d);
		break;
	case FIELD_BOOL:
		printf("%s", f->u ? "true" : "false");
		break;
	}
}

/* One key per line: easy for grep and sed as well as jq. */
static void print_json(const struct field *f, size_t n)
{
	size_t i;

	printf("{\n");
	for (i = 0; i < n; i++) {
		printf("  \"%s\": ", f[i].name);
		print_value(&f[i], true);
		printf("%s\n", i + 1 < n ? "," : "");
	}
	printf("}\n");
}

static void print_csv(const struct field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s%s", f[i].name, i + 1 < n ? "," : "\n");
	for (i = 0; i < n; i++) {
		print_value(&f[i], false);
		printf("%s", i + 1 < n ? "," : "\n");
	}
}

/* Latency in the unit that keeps 3 or 4 significant digits. */
static const char *fmt_ns(uint64_t ns, char *buf, size_t size)
{
	if (ns < 10000)
		snprintf(buf, size, "%" PRIu64 " ns", ns);
	else if (ns < 10000000)
		snprintf(buf, size, "%.1f us", ns / 1e3);
	else
		snprintf(buf, size, "%.1f ms", ns / 1e6);
	return buf;
}

static void print_text_latency(const struct hist *h)
{
	char a[32], b[32], c[32], d[32], e[32];

	printf("latency    p50 %s, p99 %s, p99.9 %s, max %s (mean %s)\n",
	       fmt_ns(hist_percentile(h, 50), a, sizeof(a)),
	       fmt_ns(hist_percentile(h, 99), b, sizeof(b)),
	       fmt_ns(hist_percentile(h, 99.9), c, sizeof(c)),
	       fmt_ns(h->max, d, sizeof(d)), fmt_ns(hist_mean(h), e, sizeof(e)));
}

static void print_text_cpu(const struct result *r, const struct bench *b)
{
	printf("cpu        %.2f of %d CPUs busy: kmqtt-bench %.2f, the rest "
	       "(the broker, for kmqtt) %.2f", r->cpu_busy, r->ncpus,
	       r->cpu_generator, r->cpu_others);
	if (r->cpu_broker_pid >= 0)
		printf("; pid %d %.2f", (int)b->opt.broker_pid,
		       r->cpu_broker_pid);
	printf("\nthreads    %u, the busiest at %.0f %% of a CPU\n",
	       r->nthreads, 100 * r->busiest_thread);
	if (r->generator_bound)
		printf("GENERATOR-BOUND: a kmqtt-bench thread used %.0f %% of a "
		       "CPU; the broker may be faster than this shows\n",
		       100 * r->busiest_thread);
}

static const char *level_name(uint8_t level)
{
	return level == MQTT_V5 ? "5.0" : "3.1.1";
}

static void print_text(const struct result *r, const struct bench *b)
{
	const struct options *o = &b->opt;
	char broker[300], subs[32] = "", tls[96] = "";

	if (o->sub_protocol != o->protocol)
		snprintf(subs, sizeof(subs), " (subscribers %s)",
			 level_name(o->sub_protocol));
	if (o->tls)
		snprintf(tls, sizeof(tls), " over %s %s",
			 b->tls_version ? b->tls_version : "TLS",
			 b->tls_cipher ? b->tls_cipher : "");
	printf("kmqtt-bench %s against %s: MQTT %s%s%s%s, QoS %d, %u-byte "
	       "payload, %u publishers, %u subscribers, %" PRIu64
	       " deliveries per message from each\n",
	       plan_scenario_name(o->scenario),
	       broker_name(b, broker, sizeof(broker)), level_name(o->protocol),
	       o->ws ? " over WebSockets" : "", tls,
	       subs, o->qos, o->payload, b->plan.npubs, b->plan.nsubs,
	       plan_deliveries(&b->plan));
	printf("setup      %u connections in %.2f s\n",
	       o->limit ? b->plan.nsubs : b->plan.nclients, r->setup_s);
	printf("published  %" PRIu64 " messages in %.2f s: %.0f msgs/s\n",
	       r->published, r->run_s, r->publish_rate);
	printf("delivered  %.0f msgs/s, %.2f MB/s on the wire (during the run)\n",
	       r->delivered_rate, r->delivered_bytes_rate / 1e6);
	printf("           expected %" PRIu64 ", received %" PRIu64 ", lost %"
	       PRIu64 " (%.3f %%), duplicates %" PRIu64 ", late %" PRIu64
	       ", unexpected %" PRIu64 "\n", r->expected, r->delivered,
	       r->lost, percent(r->lost, r->expected), r->dups, r->late,
	       r->unexpected);
	if (r->closed || r->ack_errors || r->refused)
		printf("           connections lost %" PRIu64 ", bad acks %"
		       PRIu64 ", refused %" PRIu64 "\n", r->closed,
		       r->ack_errors, r->refused);
	print_text_latency(&r->latency);
	print_text_cpu(r, b);
}

void result_print(const struct result *r, const struct bench *b)
{
	struct field f[64];
	char broker[300];
	size_t n = result_fields(r, b, f, broker, sizeof(broker));

	switch (b->opt.output) {
	case OUTPUT_JSON:
		print_json(f, n);
		break;
	case OUTPUT_CSV:
		print_csv(f, n);
		break;
	default:
		print_text(r, b);
	}
	fflush(stdout);
}

void progress_print(const struct bench *b, double elapsed_s,
		    const struct counters *now, const struct counters *before,
		    double interval_s)
{
	if (b->opt.quiet || interval_s <= 0)
		return;
	fprintf(stderr, "kmqtt-bench: %5.1f s  published %.0f/s  delivered "
		"%.0f/s  outstanding %" PRIu64 "%s\n", elapsed_s,
		(now->published - before->published) / interval_s,
		(now->delivered - before->delivered) / interval_s,
		now->expected > now->delivered - now->dups ?
		now->expected - (now->delivered - now->dups) : 0,
		now->closed ? "  (connections lost)" : "");
}
