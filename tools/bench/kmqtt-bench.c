// SPDX-License-Identifier: GPL-2.0
/*
 * kmqtt-bench: an MQTT 3.1.1 and 5.0 load generator for any broker.  It is
 * both the publishers and the subscribers of a scenario, so every delivery
 * is checked against what was sent: latency from a timestamp in the
 * payload, losses and duplicates from per-publisher sequence numbers.
 *
 * The main thread parses options, builds the plan (plan.c), starts the
 * workers (worker.c) and drives the phases: setup (connect, subscribe),
 * run (publish for --duration or --count), stop (wait for what is still
 * on its way), done (disconnect); then it reports (report.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "report.h"
#include "tls.h"

#define POLL_NS		(50 * 1000 * 1000ull)

static volatile sig_atomic_t interrupted;

static const char usage[] =
"usage: kmqtt-bench SCENARIO [options]\n"
"\n"
"An MQTT 3.1.1 and 5.0 load generator: it runs the publishers and the\n"
"subscribers of a scenario against a broker and reports delivered messages\n"
"per second, latency percentiles, losses and duplicates, and CPU use.\n"
"\n"
"Scenarios:\n"
"  fanout     --pubs publishers (1) on one topic, --subs subscribers (100)\n"
"             to it: every subscriber gets every message\n"
"  fanin      --pubs publishers (100) on a topic each, --subs subscribers (1)\n"
"             to PREFIX/fanin/+ (each gets every message; no $share)\n"
"  pairwise   --pairs clients (100); client i publishes to PREFIX/pair/i and\n"
"             subscribes to PREFIX/pair/i+1: one subscriber per topic\n"
"  wildcard   --pubs publishers (100), each on its own leaf\n"
"             PREFIX/wild/A/B/C/i, --subs subscribers (100), each with one\n"
"             of five filters mixing + and # (A/#, +/B/#, A/+/C/+, ...)\n"
"\n"
"Broker:\n"
"  -h, --host HOST        broker address or name (127.0.0.1)\n"
"  -p, --port PORT        broker port (1883)\n"
"      --protocol V       MQTT version of every client: 4 or 3.1.1 (the\n"
"                         default), 5 or 5.0.  5.0 clients send no\n"
"                         properties; of the broker's they heed receive\n"
"                         maximum (narrows --inflight), maximum QoS,\n"
"                         maximum packet size and server keep alive, and\n"
"                         skip the others\n"
"      --sub-protocol V   instead, the version of the clients that\n"
"                         subscribe (all of pairwise's): e.g. 5.0\n"
"                         subscribers fed by 3.1.1 publishers\n"
"      --ws               MQTT over WebSockets (RFC 6455): every client\n"
"                         opens with a GET asking for the mqtt\n"
"                         subprotocol and checks the 101, then sends\n"
"                         its packets in masked binary frames (one per\n"
"                         write) and reads the broker's frames (pings\n"
"                         answered, a close ends the connection)\n"
"      --ws-path PATH     the GET's path (/mqtt)\n"
"      --tls              TLS (OpenSSL): every client makes a full\n"
"                         handshake (no resumption), checks the broker's\n"
"                         certificate against --cafile and --host (an\n"
"                         address against its IP SANs, a name against\n"
"                         its DNS names), then reads and writes records:\n"
"                         an SSL_write() where TCP makes a write().\n"
"                         With --ws: WebSockets over TLS (wss)\n"
"      --cafile FILE      the CA certificates, PEM, the broker's must chain\n"
"                         to (the system's)\n"
"      --tls-version V    offer TLS 1.2 or 1.3 only (both)\n"
"      --ciphers LIST     TLS 1.2 ciphers, OpenSSL's syntax (its default)\n"
"      --ciphersuites LIST  TLS 1.3 cipher suites, e.g.\n"
"                         TLS_AES_128_GCM_SHA256 (OpenSSL's default)\n"
"      --limit            no broker: kmqtt-bench listens itself (on --host,\n"
"                         --port if given, else a free port), accepts the\n"
"                         scenario's subscribers and writes them PUBLISH\n"
"                         frames, as a broker would send them, as fast as\n"
"                         their sockets take them.  The rate the\n"
"                         subscribers see is the most any broker could do\n"
"                         here.  QoS 0, --duration only, plain TCP,\n"
"                         no TLS.\n"
"\n"
"Load:\n"
"  -q, --qos 0|1|2        QoS of PUBLISH and SUBSCRIBE (0)\n"
"  -s, --payload BYTES    payload size, at least 16 (16): an 8-byte send\n"
"                         time (CLOCK_MONOTONIC), publisher and sequence\n"
"                         number, then filler\n"
"  -d, --duration SECS    publish for this long (10)\n"
"  -n, --count N          instead, publish N messages per publisher\n"
"  -r, --rate MSGS        total PUBLISH per second offered, shared by the\n"
"                         publishers (0: as fast as the windows allow)\n"
"  -P, --pubs N           publishers (fanout, fanin, wildcard)\n"
"  -S, --subs N           subscribers (fanout, fanin, wildcard)\n"
"      --pairs N          clients of pairwise\n"
"      --inflight N       QoS 1/2 PUBLISH in flight per publisher (64)\n"
"      --window N         messages per publisher not yet delivered to all\n"
"                         their subscribers (64; 0: no limit).  Brokers do\n"
"                         not slow publishers down when subscribers fall\n"
"                         behind: without a window, an unlimited rate\n"
"                         fills the broker's queues and measures drops\n"
"      --outstanding N    instead of --window: size the windows so that about\n"
"                         N deliveries are outstanding in all (the window\n"
"                         is N / deliveries that one message from each\n"
"                         publisher makes, at least 1).  Keeps queues,\n"
"                         and so latency and the drain, comparable between\n"
"                         a fan-out of 10 and one of 1000\n"
"      --loss-timeout SECS  a message leaves the window after this long\n"
"                         even if deliveries are missing (10)\n"
"      --connect-rate N   new connections per second (0: unlimited, at most\n"
"                         64 handshakes at once per thread)\n"
"      --keepalive SECS   CONNECT keepalive; PINGREQ after half of it (or of\n"
"                         a 5.0 broker's server keep alive) idle\n"
"                         (60; 0: none)\n"
"      --topic-prefix P   first topic level (bench)\n"
"  -t, --threads N        worker threads, each with its share of the\n"
"                         connections on one epoll (online CPUs)\n"
"      --drain SECS       after publishing, wait until everything arrived\n"
"                         or nothing did for this long (3)\n"
"      --setup-timeout SECS  connect and subscribe within this long (120)\n"
"\n"
"Report:\n"
"      --json             one JSON object, one key per line\n"
"      --csv              a header line and a line of values\n"
"      --label TEXT       copied into the JSON or CSV\n"
"      --broker-pid PID   also report this process's CPU (/proc/PID/stat)\n"
"      --quiet            no progress lines on stderr\n"
"      --help             this text\n"
"\n"
"Rates count PUBLISH packets received by subscribers while publishing ran\n"
"(\"delivered\"); expected deliveries are messages published times the\n"
"subscribers whose filter matches.  Lost = expected minus distinct\n"
"messages received (after the drain), duplicates = received twice, late =\n"
"arrived after a later one.  Latency covers every delivery, drain\n"
"included.  CPU: the machine's busy CPUs (/proc/stat) during the run, the\n"
"generator's share (getrusage) and the rest, which is the broker's when\n"
"nothing else runs (kmqtt works in kernel threads, so no process shows\n"
"it).  GENERATOR-BOUND: a worker thread was over 90 % busy, so the\n"
"generator may be what limits the rate.  A progress line goes to stderr\n"
"every second.  Exit status: 0 done (even with losses), 1 the run failed\n"
"(connection refused, broker closed a connection during setup), 2 usage.\n";

enum long_only {
	OPT_PAIRS = 256,
	OPT_PROTOCOL,
	OPT_SUB_PROTOCOL,
	OPT_INFLIGHT,
	OPT_WINDOW,
	OPT_OUTSTANDING,
	OPT_LOSS_TIMEOUT,
	OPT_CONNECT_RATE,
	OPT_KEEPALIVE,
	OPT_PREFIX,
	OPT_DRAIN,
	OPT_SETUP_TIMEOUT,
	OPT_JSON,
	OPT_CSV,
	OPT_LABEL,
	OPT_BROKER_PID,
	OPT_QUIET,
	OPT_LIMIT,
	OPT_TLS,
	OPT_CAFILE,
	OPT_TLS_VERSION,
	OPT_CIPHERS,
	OPT_CIPHERSUITES,
	OPT_WS,
	OPT_WS_PATH,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "qos", required_argument, NULL, 'q' },
	{ "payload", required_argument, NULL, 's' },
	{ "duration", required_argument, NULL, 'd' },
	{ "count", required_argument, NULL, 'n' },
	{ "rate", required_argument, NULL, 'r' },
	{ "pubs", required_argument, NULL, 'P' },
	{ "subs", required_argument, NULL, 'S' },
	{ "threads", required_argument, NULL, 't' },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "sub-protocol", required_argument, NULL, OPT_SUB_PROTOCOL },
	{ "pairs", required_argument, NULL, OPT_PAIRS },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "outstanding", required_argument, NULL, OPT_OUTSTANDING },
	{ "loss-timeout", required_argument, NULL, OPT_LOSS_TIMEOUT },
	{ "connect-rate", required_argument, NULL, OPT_CONNECT_RATE },
	{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
	{ "topic-prefix", required_argument, NULL, OPT_PREFIX },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "broker-pid", required_argument, NULL, OPT_BROKER_PID },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "limit", no_argument, NULL, OPT_LIMIT },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "cafile", required_argument, NULL, OPT_CAFILE },
	{ "tls-version", required_argument, NULL, OPT_TLS_VERSION },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
	{ "ws", no_argument, NULL, OPT_WS },
	{ "ws-path", required_argument, NULL, OPT_WS_PATH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int bench_phase(const struct bench *b)
{
	return __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);
}

/* The first failure wins; the main thread reports it and stops the run. */
void bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&b->failed, 1, __ATOMIC_ACQ_REL))
		return;
	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
}

static void bench_set_phase(struct bench *b, int phase)
{
	uint32_t i;

	__atomic_store_n(&b->phase, phase, __ATOMIC_RELEASE);
	for (i = 0; i < b->opt.threads; i++)
		worker_wake(&b->workers[i]);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, max, &v))
		return -1;
	*out = v;
	return 0;
}

static int parse_real(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

/* An MQTT version by its protocol level or its name. */
static int parse_protocol(const char *s, uint8_t *level)
{
	if (!strcmp(s, "4") || !strcmp(s, "3.1.1"))
		*level = MQTT_V311;
	else if (!strcmp(s, "5") || !strcmp(s, "5.0"))
		*level = MQTT_V5;
	else
		return -1;
	return 0;
}

static void options_defaults(struct options *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	*o = (struct options){
		.host = "127.0.0.1",
		.port = "1883",
		.protocol = MQTT_V311,
		.payload = 16,
		.duration = 10,
		.pairs = 100,
		.threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : cpus,
		.inflight = 64,
		.window = 64,
		.loss_timeout = 10,
		.drain = 3,
		.setup_timeout = 120,
		.keepalive = 60,
		.prefix = "bench",
		.ws_path = "/mqtt",
	};
}

static int option_number(struct options *o, int c, const char *arg)
{
	uint32_t v32;

	switch (c) {
	case 'q':
		if (parse_u32(arg, 2, &v32))
			return -1;
		o->qos = v32;
		return 0;
	case 's':
		return parse_u32(arg, 16 * 1024 * 1024, &o->payload) ||
		       o->payload < STAMP_SIZE ? -1 : 0;
	case 'd':
		return parse_real(arg, &o->duration) || o->duration <= 0;
	case 'n':
		return parse_u64(arg, UINT32_MAX, &o->count);
	case 'r':
		return parse_real(arg, &o->rate);
	case 'P':
		return parse_u32(arg, 1000000, &o->pubs);
	case 'S':
		return parse_u32(arg, 1000000, &o->subs);
	case 't':
		return parse_u32(arg, MAX_THREADS, &o->threads) ||
		       !o->threads ? -1 : 0;
	case OPT_PAIRS:
		return parse_u32(arg, 1000000, &o->pairs);
	case OPT_INFLIGHT:
		return parse_u32(arg, 65535, &o->inflight) || !o->inflight;
	case OPT_WINDOW:
		return parse_u32(arg, 1 << 20, &o->window);
	case OPT_OUTSTANDING:
		return parse_u32(arg, UINT32_MAX, &o->outstanding) ||
		       !o->outstanding;
	case OPT_LOSS_TIMEOUT:
		return parse_real(arg, &o->loss_timeout);
	case OPT_CONNECT_RATE:
		return parse_real(arg, &o->connect_rate);
	case OPT_KEEPALIVE:
		if (parse_u32(arg, 65535, &v32))
			return -1;
		o->keepalive = v32;
		return 0;
	case OPT_DRAIN:
		return parse_real(arg, &o->drain);
	case OPT_SETUP_TIMEOUT:
		return parse_real(arg, &o->setup_timeout);
	case OPT_BROKER_PID:
		if (parse_u32(arg, INT32_MAX, &v32) || !v32)
			return -1;
		o->broker_pid = v32;
		return 0;
	}
	return -1;
}

static int option_other(struct options *o, int c, const char *arg)
{
	switch (c) {
	case 'h':
		o->host = arg;
		return 0;
	case 'p':
		o->port = arg;
		o->port_given = true;
		return 0;
	case OPT_PROTOCOL:
		return parse_protocol(arg, &o->protocol);
	case OPT_SUB_PROTOCOL:
		return parse_protocol(arg, &o->sub_protocol);
	case OPT_PREFIX:
		return strlen(arg) > MAX_PREFIX || !*arg ||
		       mqtt_filter_has_wildcard(arg) ? -1 : (o->prefix = arg, 0);
	case OPT_JSON:
		o->output = OUTPUT_JSON;
		return 0;
	case OPT_CSV:
		o->output = OUTPUT_CSV;
		return 0;
	case OPT_LABEL:
		o->label = arg;
		return 0;
	case OPT_QUIET:
		o->quiet = true;
		return 0;
	case OPT_LIMIT:
		o->limit = true;
		return 0;
	case OPT_WS:
		o->ws = true;
		return 0;
	case OPT_WS_PATH:
		/* An origin-form request target: no space, no line break. */
		return *arg != '/' || strpbrk(arg, " \t\r\n") ||
		       strlen(arg) > 1024 ? -1 : (o->ws_path = arg, 0);
	case OPT_TLS:
		o->tls = true;
		return 0;
	case OPT_CAFILE:
		o->cafile = arg;
		return 0;
	case OPT_TLS_VERSION:
		return tls_parse_version(arg, &o->tls_version);
	case OPT_CIPHERS:
		o->ciphers = arg;
		return 0;
	case OPT_CIPHERSUITES:
		o->ciphersuites = arg;
		return 0;
	}
	return option_number(o, c, arg);
}

static void scenario_defaults(struct options *o)
{
	bool fanin = o->scenario == SCENARIO_FANIN;
	bool fanout = o->scenario == SCENARIO_FANOUT;

	if (!o->pubs)
		o->pubs = fanout ? 1 : 100;
	if (!o->subs)
		o->subs = fanin ? 1 : 100;
	if (!o->sub_protocol)
		o->sub_protocol = o->protocol;
}

static int options_check(const struct options *o)
{
	if (o->scenario == SCENARIO_PAIRWISE && o->pairs < 2) {
		fprintf(stderr, "kmqtt-bench: pairwise needs --pairs 2 or more\n");
		return -1;
	}
	if (o->limit && (o->qos || o->count || o->ws || o->tls)) {
		fprintf(stderr, "kmqtt-bench: --limit is QoS 0, --duration "
			"only and plain TCP\n");
		return -1;
	}
	if (!o->tls && (o->cafile || o->tls_version || o->ciphers ||
			o->ciphersuites)) {
		fprintf(stderr, "kmqtt-bench: --cafile, --tls-version, "
			"--ciphers and --ciphersuites need --tls\n");
		return -1;
	}
	return 0;
}

static int options_parse(struct options *o, int argc, char **argv)
{
	int c;

	options_defaults(o);
	while ((c = getopt_long(argc, argv, "h:p:q:s:d:n:r:P:S:t:",
				long_options, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(usage, stdout);
			exit(0);
		}
		if (c == '?' || option_other(o, c, optarg)) {
			if (c != '?')
				fprintf(stderr, "kmqtt-bench: bad value for "
					"option %s\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc - 1 ||
	    plan_scenario_parse(argv[optind], &o->scenario)) {
		fprintf(stderr, "kmqtt-bench: one scenario: fanout, fanin, "
			"pairwise or wildcard (--help)\n");
		return -1;
	}
	scenario_defaults(o);
	return options_check(o);
}

static void options_window(struct options *o, const struct plan *plan)
{
	uint64_t deliveries = plan_deliveries(plan), w;

	if (!o->outstanding || !deliveries)
		return;
	w = o->outstanding / deliveries;
	o->window = w < 1 ? 1 : w > (1 << 20) ? 1 << 20 : w;
}

static int resolve(struct bench *b)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int err;

	err = getaddrinfo(b->opt.host, b->opt.port, &hints, &ai);
	if (err) {
		fprintf(stderr, "kmqtt-bench: %s:%s: %s\n", b->opt.host,
			b->opt.port, gai_strerror(err));
		return -1;
	}
	memcpy(&b->addr, ai->ai_addr, ai->ai_addrlen);
	b->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* 1000 clients want 1000 descriptors, 2000 in limit mode. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int bench_alloc_roles(struct bench *b)
{
	const struct plan *plan = &b->plan;
	uint32_t i;

	b->pubs = calloc(plan->npubs + 1, sizeof(*b->pubs));
	b->subs = calloc(plan->nsubs + 1, sizeof(*b->subs));
	b->clients = calloc(plan->nclients + 1, sizeof(*b->clients));
	b->workers = calloc(b->opt.threads, sizeof(*b->workers));
	if (!b->pubs || !b->subs || !b->clients || !b->workers)
		return -ENOMEM;
	/* Whatever fails below, bench_free() closes only what was opened. */
	for (i = 0; i < plan->nclients; i++)
		b->clients[i].fd = -1;
	for (i = 0; i < b->opt.threads; i++)
		b->workers[i].epfd = b->workers[i].evfd = -1;
	for (i = 0; i < plan->npubs; i++)
		if (publisher_init(&b->pubs[i], b, i))
			return -ENOMEM;
	for (i = 0; i < plan->nsubs; i++)
		if (subscriber_init(&b->subs[i], b, i))
			return -ENOMEM;
	for (i = 0; i < b->opt.threads; i++)
		if (worker_init(&b->workers[i], b, i))
			return -ENOMEM;
	return 0;
}

/*
 * Clients go to workers in turn.  In limit mode only subscribers connect
 * (kmqtt-bench itself stands in for the publishers and the broker).
 */
static int bench_alloc_clients(struct bench *b)
{
	const struct plan *plan = &b->plan;
	uint32_t i, n = 0;

	for (i = 0; i < plan->nclients; i++) {
		struct client *c = &b->clients[i];
		int32_t pub = b->opt.limit ? -1 : plan->client_pub[i];
		int32_t sub = plan->client_sub[i];
		struct worker *w;
		uint8_t level;

		level = sub >= 0 ? b->opt.sub_protocol : b->opt.protocol;
		if (client_init(c, b, i, level))
			return -ENOMEM;
		if (pub < 0 && sub < 0)
			continue;
		w = &b->workers[n++ % b->opt.threads];
		c->worker = w;
		w->clients[w->nclients++] = c;
		if (pub >= 0) {
			c->pub = &b->pubs[pub];
			c->pub->client = c;
			w->pubs[w->npubs++] = c->pub;
		}
		if (sub >= 0) {
			c->sub = &b->subs[sub];
			c->sub->client = c;
		}
	}
	return 0;
}

static void bench_free(struct bench *b)
{
	uint32_t i;

	for (i = 0; b->clients && i < b->plan.nclients; i++)
		client_free(&b->clients[i]);
	for (i = 0; b->pubs && i < b->plan.npubs; i++)
		publisher_free(&b->pubs[i]);
	for (i = 0; b->subs && i < b->plan.nsubs; i++)
		subscriber_free(&b->subs[i]);
	for (i = 0; b->workers && i < b->opt.threads; i++)
		worker_free(&b->workers[i]);
	free(b->clients);
	free(b->pubs);
	free(b->subs);
	free(b->workers);
	plan_free(&b->plan);
}

static uint32_t clients_to_connect(const struct bench *b)
{
	return b->opt.limit ? b->plan.nsubs : b->plan.nclients;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };

	nanosleep(&ts, NULL);
}

/* Waits until every client is connected and subscribed. */
static int wait_ready(struct bench *b)
{
	uint64_t start = now_ns(), next_report = start + NSEC_PER_SEC;
	uint64_t timeout = b->opt.setup_timeout * NSEC_PER_SEC;
	uint32_t want = clients_to_connect(b);
	struct counters sum;

	for (;;) {
		counters_sum(b, &sum);
		if (sum.ready == want)
			return 0;
		if (b->failed || interrupted)
			return -1;
		if (now_ns() - start > timeout) {
			bench_fail(b, "%" PRIu64 " of %u clients ready after "
				   "%.0f s", sum.ready, want,
				   b->opt.setup_timeout);
			return -1;
		}
		if (now_ns() >= next_report && !b->opt.quiet) {
			fprintf(stderr, "kmqtt-bench: connecting: %" PRIu64
				" of %u ready\n", sum.ready, want);
			next_report += NSEC_PER_SEC;
		}
		sleep_ns(POLL_NS);
	}
}

static bool publishing_done(const struct bench *b, const struct counters *sum,
			    uint64_t elapsed)
{
	if (b->failed || interrupted)
		return true;
	if (b->opt.count)
		return sum->published >= b->opt.count * b->plan.npubs ||
		       sum->closed;
	return elapsed >= b->opt.duration * NSEC_PER_SEC;
}

/* Publishes, with a progress line every second; returns at the end. */
static void run_publish(struct bench *b)
{
	uint64_t last = b->start_ns, now;
	struct counters sum, before;

	memset(&before, 0, sizeof(before));
	for (;;) {
		sleep_ns(POLL_NS);
		now = now_ns();
		counters_sum(b, &sum);
		if (publishing_done(b, &sum, now - b->start_ns))
			return;
		if (now - last >= NSEC_PER_SEC) {
			progress_print(b, (now - b->start_ns) / 1e9, &sum,
				       &before, (now - last) / 1e9);
			before = sum;
			last = now;
		}
	}
}

/*
 * Waits for what is still on its way: until every expected delivery (and
 * QoS 1/2 acknowledgement) arrived, or nothing moved for --drain seconds.
 */
static void run_drain(struct bench *b)
{
	uint64_t quiet_ns = b->opt.drain * NSEC_PER_SEC, moved = now_ns();
	uint64_t progress = UINT64_MAX, p;
	struct counters sum;

	for (;;) {
		bool quiesced = limit_quiesced(b);

		counters_sum(b, &sum);
		if (quiesced && sum.delivered - sum.dups >= sum.expected &&
		    (!b->opt.qos || sum.completed >= sum.published))
			return;
		p = sum.delivered + sum.completed;
		if (p != progress) {
			progress = p;
			moved = now_ns();
		} else if (now_ns() - moved >= quiet_ns || b->failed ||
			   interrupted) {
			return;
		}
		sleep_ns(POLL_NS / 5);
	}
}

/* What the report needs from the run, collected once every thread ended. */
struct run_samples {
	struct cpu_sample start;
	struct cpu_sample stop;
	struct counters at_stop;
};

static int run(struct bench *b, struct result *r, struct run_samples *s)
{
	uint64_t t0 = now_ns();

	if (wait_ready(b))
		return -1;
	r->setup_s = (now_ns() - t0) / 1e9;
	cpu_sample(&s->start, b);
	b->start_ns = s->start.at_ns;
	bench_set_phase(b, PHASE_RUN);
	run_publish(b);
	bench_set_phase(b, PHASE_STOP);
	cpu_sample(&s->stop, b);
	counters_sum(b, &s->at_stop);
	t0 = now_ns();
	run_drain(b);
	r->drain_s = (now_ns() - t0) / 1e9;
	return b->failed ? -1 : 0;
}

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int start_workers(struct bench *b)
{
	uint32_t i;

	for (i = 0; i < b->opt.threads; i++) {
		struct worker *w = &b->workers[i];

		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			bench_fail(b, "pthread_create failed");
			return i;
		}
		pthread_getcpuclockid(w->thread, &w->cpu_clock);
	}
	return i;
}

int main(int argc, char **argv)
{
	struct plan_params pp;
	struct run_samples *samples = calloc(1, sizeof(*samples));
	struct result *r = calloc(1, sizeof(*r));
	struct bench *b = calloc(1, sizeof(*b));
	uint32_t started = 0, i;
	int err = -1;

	if (!samples || !r || !b || options_parse(&b->opt, argc, argv)) {
		free(samples);
		free(r);
		free(b);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	raise_nofile();
	pp = (struct plan_params){ b->opt.scenario, b->opt.prefix,
				   b->opt.pubs, b->opt.subs, b->opt.pairs };
	if (plan_build(&b->plan, &pp)) {
		bench_fail(b, "out of memory");
		goto out;
	}
	options_window(&b->opt, &b->plan);
	if (b->opt.tls) {
		char why[200];

		b->ssl_ctx = tls_ctx_new(&b->opt, BUF_MIN, why, sizeof(why));
		if (!b->ssl_ctx) {
			bench_fail(b, "TLS: %s", why);
			goto out;
		}
	}
	if (bench_alloc_roles(b) ||
	    bench_alloc_clients(b)) {
		bench_fail(b, "out of memory");
		goto out;
	}
	if (b->opt.limit ? limit_start(b) : resolve(b)) {
		bench_fail(b, "no broker address to use");
		goto out;
	}
	started = start_workers(b);
	err = started == b->opt.threads ? run(b, r, samples) : -1;
	bench_set_phase(b, PHASE_DONE);
	for (i = 0; i < started; i++)
		pthread_join(b->workers[i].thread, NULL);
	limit_stop(b);
	if (!err)
		result_collect(r, b, &samples->start, &samples->stop,
			       &samples->at_stop);
out:
	limit_destroy(b);
	if (err)
		fprintf(stderr, "kmqtt-bench: %s\n",
			b->failed ? b->error : "interrupted");
	else
		result_print(r, b);
	bench_free(b);
	if (b->ssl_ctx)
		tls_ctx_free(b->ssl_ctx);
	free(b);
	free(r);
	free(samples);
	return err ? 1 : 0;
}
