// SPDX-License-Identifier: GPL-2.0
/*
 * The race-prone paths many times over, with the module's race windows
 * (lib/modparams.h) open for random lengths (issue #10): attach, reset,
 * DISCONNECT, takeover of a client id another connection holds, and
 * QoS 1 publishers paused on the memory limit and resumed, all at once
 * from several threads, for KMQTT_STRESS_SECONDS (30 by default; make
 * soak runs it for longer).  Then every connection has been closed
 * exactly once (one CONN_CLOSED per id), none is left, the memory stat is
 * back where it was and the kernel log is clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "direct.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "loopback.h"
#include "modparams.h"
#include "mqtt_client.h"

#define THREADS		4
#define IDS		6	/* client ids shared by the threads: takeovers */
#define OPEN_MAX	8	/* connections a thread keeps open at most */
#define MAX_CONNS	200000
#define PAYLOAD		6000	/* QoS 1 messages that hit the memory limit */
/* Race windows up to this long, each sleep a random part of it. */
#define WINDOW_US	"5000"

struct stress {
	struct direct direct;
	uint64_t limits[KMQTT_LIMIT_MAX + 1];
	uint64_t memory;		/* the memory stat before */
	int64_t end_ms;
	volatile bool stop;
	pthread_mutex_t lock;
	/* Connection ids attached, and the CONN_CLOSED events seen. */
	uint8_t *attached, *closed;	/* indexed by id - first_id */
	uint64_t first_id;
	uint64_t n_attached, n_events, dup_events, stray_events;
	uint64_t overruns;		/* of the event socket: events lost */
	uint64_t lost, publishes, acked;	/* lost: before its CONNACK */
	struct kmqtt_genl events;	/* joined to the events group */
	pthread_t events_thread;
	bool events_running;		/* to stop, if an ASSERT cut it short */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note_id(struct stress *s, uint8_t *map, uint64_t id, bool event)
{
	uint64_t i = id - s->first_id;

	pthread_mutex_lock(&s->lock);
	if (id < s->first_id || i >= MAX_CONNS) {
		/* Not the probe's (before first_id): past what is kept. */
		s->stray_events += event && id >= s->first_id;
	} else if (event) {
		s->n_events++;
		s->dup_events += map[i];
		map[i] = 1;
	} else {
		s->n_attached++;
		map[i] = 1;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Reads CONN_CLOSED events until told to stop and none comes for 2 s, on a
 * socket joined before the first attach: else the first closes can come
 * before it is, and go unseen.
 */
static void *events_thread(void *arg)
{
	struct stress *s = arg;
	struct kmqtt_nl_closed ev;
	int err;

	for (;;) {
		err = kmqtt_genl_next_closed(&s->events, 2000, &ev);
		if (!err)
			note_id(s, s->closed, ev.conn_id, true);
		else if (err == -ENOBUFS)
			s->overruns++;
		else if (err != -ETIMEDOUT)
			return (void *)1;	/* the socket failed */
		else if (s->stop)
			break;
	}
	return NULL;
}

/* The memory limit, tight then none, every 100 to 300 ms: pauses, resumes. */
static void *memory_thread(void *arg)
{
	struct stress *s = arg;
	struct kmqtt_genl g;
	bool tight = false;

	if (kmqtt_genl_open(&g))
		return (void *)1;
	while (now_ms() < s->end_ms) {
		tight = !tight;
		if (kmqtt_genl_set_limit(&g, KMQTT_LIMIT_MEMORY,
					 tight ? s->memory + 64 * 1024 : 0))
			break;
		usleep((100 + rand() % 200) * 1000);
	}
	kmqtt_genl_set_limit(&g, KMQTT_LIMIT_MEMORY, s->limits[KMQTT_LIMIT_MEMORY]);
	kmqtt_genl_close(&g);
	return NULL;
}

/* One client's life: what it does before it goes, and how it goes. */
static void client_round(struct stress *s, struct kmqtt_genl *g, int *open,
			 int *n_open, unsigned int *seed)
{
	static const struct mqtt_pub_opts qos1 = { .qos = 1, .packet_id = 1 };
	static char payload[PAYLOAD];
	uint64_t conn_id = 0;
	char id[32];
	int fd, victim;

	snprintf(id, sizeof(id), "stress-%d", rand_r(seed) % IDS);
	/* Takes the id over from whoever holds it, maybe another thread. */
	fd = direct_client(&s->direct, g, id, true, &conn_id, NULL);
	/* Attached, if only to be taken over before its CONNACK was read. */
	if (conn_id)
		note_id(s, s->attached, conn_id, false);
	if (fd < 0) {
		__atomic_add_fetch(&s->lost, 1, __ATOMIC_RELAXED);
		return;
	}
	switch (rand_r(seed) % 5) {
	case 0:
		loopback_reset(fd);
		return;
	case 1:
		mqtt_send_disconnect(fd);
		close(fd);
		return;
	case 2:
		/* Over the limit while it is tight: paused, then resumed. */
		__atomic_add_fetch(&s->publishes, 1, __ATOMIC_RELAXED);
		if (!mqtt_send_publish_opts(fd, "stress/q1", payload,
					    sizeof(payload), &qos1) &&
		    !mqtt_expect_pub_ack(fd, MQTT_PUBACK, 1))
			__atomic_add_fetch(&s->acked, 1, __ATOMIC_RELAXED);
		break;
	case 3:
		mqtt_subscribe(fd, 1, "stress/#");
		break;
	default:
		break;
	}
	/* Kept open for a while; when full, an older one goes. */
	if (*n_open == OPEN_MAX) {
		victim = rand_r(seed) % OPEN_MAX;
		if (rand_r(seed) % 2)
			loopback_reset(open[victim]);
		else
			close(open[victim]);
		open[victim] = fd;
	} else {
		open[(*n_open)++] = fd;
	}
}

static void *client_thread(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = (uintptr_t)&seed ^ time(NULL);
	int open[OPEN_MAX], n_open = 0, i;
	struct kmqtt_genl g;

	if (kmqtt_genl_open(&g))
		return (void *)1;
	while (now_ms() < s->end_ms)
		client_round(s, &g, open, &n_open, &seed);
	for (i = 0; i < n_open; i++)
		close(open[i]);
	kmqtt_genl_close(&g);
	return NULL;
}

/* Which connection got no event, and whether the module still has it. */
static void report_silent(struct kmqtt_genl *g, uint64_t id, int nth)
{
	uint64_t stats[KMQTT_STAT_MAX + 1];
	int err = kmqtt_genl_get_conn_stats(g, id, stats);

	fprintf(stderr, "# connection %ju (the test's number %d): no event; %s\n",
		(uintmax_t)id, nth, !err ? "still open" :
		err == -ENOENT ? "not among the module's connections" :
		strerror(-err));
}

FIXTURE(stress)
{
	struct stress s;
	struct kmqtt_genl g;
	int kmsg;
};

FIXTURE_SETUP(stress)
{
	self->s = (struct stress){ .lock = PTHREAD_MUTEX_INITIALIZER };
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->g));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->g, self->s.limits));
	ASSERT_EQ(0, kmqtt_genl_open(&self->s.events));
	ASSERT_EQ(0, kmqtt_genl_join_events(&self->s.events));
	ASSERT_EQ(0, direct_open(&self->s.direct));
	self->s.attached = calloc(MAX_CONNS, 1);
	self->s.closed = calloc(MAX_CONNS, 1);
	ASSERT_TRUE(self->s.attached && self->s.closed);
}

/* Whatever happened, the next suite finds the module as it was. */
FIXTURE_TEARDOWN(stress)
{
	/* Not reading the socket and maps freed below any more. */
	if (self->s.events_running) {
		self->s.stop = true;
		pthread_join(self->s.events_thread, NULL);
	}
	EXPECT_EQ(0, race_reset());
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->g, self->s.limits,
					   KMQTT_GENL_ALL_LIMITS));
	direct_close(&self->s.direct);
	kmqtt_genl_close(&self->s.events);
	free(self->s.attached);
	free(self->s.closed);
	kmqtt_genl_close(&self->g);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

TEST_F_TIMEOUT(stress, race_prone_paths_under_random_delays, 3600)
{
	const char *env = getenv("KMQTT_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 30;
	pthread_t threads[THREADS], memory;
	uint64_t conns_before, conns, mem, silent = 0, unattached = 0;
	int i, stderr_fd, failed_threads = 0;
	struct stress *s = &self->s;
	struct kmqtt_genl *g = &self->g;
	void *ret;

	ASSERT_EQ(0, kmqtt_genl_get_stat(g, KMQTT_STAT_CONNECTIONS,
					 &conns_before));
	ASSERT_EQ(0, kmqtt_genl_get_stat(g, KMQTT_STAT_MEMORY, &s->memory));
	/* Ids only grow: the ones of this test come after this one's. */
	i = direct_client(&s->direct, g, "stress-probe", true, &s->first_id,
			  NULL);
	ASSERT_LE(0, i);
	close(i);
	s->first_id++;

	ASSERT_EQ(0, modparam_write("race_delay_us",
				    WINDOW_US "," WINDOW_US "," WINDOW_US));
	ASSERT_EQ(0, race_set_random(true));
	s->end_ms = now_ms() + seconds * 1000;
	/* The clients' complaints of the connections they lose are expected. */
	fflush(stderr);
	stderr_fd = dup(STDERR_FILENO);
	ASSERT_LE(0, stderr_fd);
	ASSERT_LE(0, dup2(open("/dev/null", O_WRONLY | O_CLOEXEC),
			  STDERR_FILENO));
	ASSERT_EQ(0, pthread_create(&s->events_thread, NULL, events_thread,
				    s));
	s->events_running = true;
	ASSERT_EQ(0, pthread_create(&memory, NULL, memory_thread, s));
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, client_thread,
					    s));
	for (i = 0; i < THREADS; i++) {
		pthread_join(threads[i], &ret);
		failed_threads += !!ret;
	}
	dup2(stderr_fd, STDERR_FILENO);
	close(stderr_fd);
	EXPECT_EQ(0, failed_threads);
	ASSERT_EQ(0, pthread_join(memory, &ret));
	EXPECT_EQ(NULL, ret);
	/* Closes from here on take no detour. */
	EXPECT_EQ(0, race_reset());

	EXPECT_EQ(0, kmqtt_genl_wait_stat(g, KMQTT_STAT_CONNECTIONS, 0,
					  conns_before + 1, 30000, &conns));
	s->stop = true;
	s->events_running = false;
	ASSERT_EQ(0, pthread_join(s->events_thread, &ret));
	EXPECT_EQ(NULL, ret);
	EXPECT_EQ(0, kmqtt_genl_wait_stat(g, KMQTT_STAT_MEMORY, 0,
					  s->memory + 1, 30000, &mem))
		TH_LOG("memory %ju, %ju before", (uintmax_t)mem,
		       (uintmax_t)s->memory);
	TH_LOG("%ju connections in %d s (%ju gone before their CONNACK was read), %ju QoS 1 publishes, %ju acknowledged",
	       (uintmax_t)s->n_attached, seconds, (uintmax_t)s->lost,
	       (uintmax_t)s->publishes, (uintmax_t)s->acked);
	for (i = 0; i < MAX_CONNS; i++) {
		/* Ids of attaches that failed get no event, rightly. */
		if (s->attached[i] && !s->closed[i] && silent++ < 10)
			report_silent(g, s->first_id + i, i);
		unattached += !s->attached[i] && s->closed[i];
	}
	/* An overrun, or an event the module could not allocate. */
	EXPECT_EQ(0, s->overruns) TH_LOG("ENOBUFS on the event socket: events lost");
	EXPECT_EQ(s->n_attached, s->n_events);
	EXPECT_EQ(0, s->dup_events);
	EXPECT_EQ(0, s->stray_events);
	EXPECT_EQ(0, silent) TH_LOG("attached, closed without an event");
	EXPECT_EQ(0, unattached) TH_LOG("an event, never attached");
}

TEST_HARNESS_MAIN
