// SPDX-License-Identifier: GPL-2.0
/*
 * Limit mode: kmqtt-bench plays the broker.  One thread listens, answers
 * CONNECT and SUBSCRIBE, and then writes to every subscriber, as fast as
 * the sockets take them, blocks of the PUBLISH frames a broker would send
 * it: same topics, same payload size, the MQTT version of its CONNECT
 * (3.1.1 or 5.0, no properties), stamped like a publisher's.  It does
 * nothing else (no parsing of publishers' traffic, no routing, no queues),
 * so the rate the subscribers see is what loopback TCP and the subscriber
 * side allow on this machine: an upper bound for any broker.
 *
 * A payload of SPLICE_MIN bytes or more is not copied per subscriber, as
 * a broker that shares a message's pages between its sockets does not
 * (kmqtt's zerocopy_min): each frame is its header and stamp, written,
 * then the filler, the same pages for every frame, put into the
 * subscriber's pipe with vmsplice() and moved to its socket with
 * splice(), which passes references to the pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"

/* Frames are written in blocks of about this many bytes. */
#define BLOCK_SIZE	16384
/*
 * Send buffer of each subscriber socket.  Plenty for loopback's rate, and
 * fixed, so that a thousand subscribers do not each get the megabytes of
 * autotuning: the run would end with seconds of backlog to drain.
 */
#define LIMIT_SNDBUF	(32 * 1024)
/* Payloads from this size on are spliced (kmqtt's zerocopy_min default). */
#define SPLICE_MIN	(16 * 1024)

enum limit_state {
	LIMIT_CONNECT,
	LIMIT_SUBSCRIBE,
	LIMIT_STREAM,
};

struct limit_conn {
	int fd;
	enum limit_state state;
	int level;		/* the subscriber's MQTT_V311 or MQTT_V5 */
	bool writable;
	struct subscriber *sub;
	uint32_t next_slot;	/* round robin over the subscriber's publishers */
	uint8_t rx[1024];
	size_t rx_len;
	uint8_t *block;
	size_t block_len;
	size_t off;		/* written of block */
	/* Spliced payloads: the frame in block is its head and stamp only */
	int pipe[2];
	size_t filler_left;	/* not yet in the pipe */
	size_t piped;		/* in the pipe, not yet in the socket */
};

struct limit {
	struct bench *bench;
	int lfd;
	int epfd;
	pthread_t thread;
	clockid_t cpu_clock;
	struct limit_conn **conns;
	uint32_t nconns;
	uint8_t *filler;	/* spliced payloads' filler, page aligned */
	size_t filler_len;
	uint64_t written;	/* frames, read by the main thread */
	int quiesced;		/* past the run: writes no new block */
	int stop;
};

static int limit_listen(struct limit *l)
{
	struct bench *b = l->bench;
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *ai;
	int one = 1, err;

	err = getaddrinfo(b->opt.host, b->opt.port_given ? b->opt.port : "0",
			  &hints, &ai);
	if (err) {
		fprintf(stderr, "kmqtt-bench: %s: %s\n", b->opt.host,
			gai_strerror(err));
		return -1;
	}
	l->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (l->lfd < 0 ||
	    setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l->lfd, ai->ai_addr, ai->ai_addrlen) ||
	    listen(l->lfd, 4096)) {
		perror("kmqtt-bench: limit listener");
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	/* The subscribers connect to wherever it ended up. */
	b->addr_len = sizeof(b->addr);
	return getsockname(l->lfd, (struct sockaddr *)&b->addr, &b->addr_len);
}

static void limit_close(struct limit *l, struct limit_conn *lc)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, lc->fd, NULL);
	close(lc->fd);
	lc->fd = -1;
}

static void limit_conn_free(struct limit_conn *lc)
{
	if (lc->fd >= 0)
		close(lc->fd);
	if (lc->pipe[0] >= 0) {
		close(lc->pipe[0]);
		close(lc->pipe[1]);
	}
	free(lc->block);
	free(lc);
}

static void limit_accept(struct limit *l)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	int fd, sndbuf = LIMIT_SNDBUF;
	struct limit_conn *lc;

	while ((fd = accept4(l->lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		lc = calloc(1, sizeof(*lc));
		if (!lc || l->nconns == l->bench->plan.nclients) {
			free(lc);
			close(fd);
			continue;
		}
		lc->fd = fd;
		lc->pipe[0] = lc->pipe[1] = -1;
		ev.data.ptr = lc;
		l->conns[l->nconns++] = lc;
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* The client id is kb-PID-INDEX: the index says which subscriber it is. */
static struct subscriber *limit_find_sub(struct limit *l, const uint8_t *id,
					 size_t len)
{
	const struct plan *plan = &l->bench->plan;
	char buf[64];
	const char *dash;
	unsigned long idx;

	if (len >= sizeof(buf))
		return NULL;
	memcpy(buf, id, len);
	buf[len] = '\0';
	dash = strrchr(buf, '-');
	if (!dash)
		return NULL;
	idx = strtoul(dash + 1, NULL, 10);
	if (idx >= plan->nclients || plan->client_sub[idx] < 0)
		return NULL;
	return &l->bench->subs[plan->client_sub[idx]];
}

/* Handshake packets are tiny and the socket fresh: a plain write does. */
static void limit_on_packet(struct limit *l, struct limit_conn *lc,
			    const struct mqtt_packet *pkt)
{
	const uint8_t *id, *filter;
	size_t id_len, filter_len;
	uint8_t out[8], qos;
	uint16_t pid;
	size_t n = 0;

	if (lc->state == LIMIT_CONNECT &&
	    !mqtt_parse_connect(pkt, &lc->level, &id, &id_len)) {
		lc->sub = limit_find_sub(l, id, id_len);
		/* 2: identifier rejected; 0x85: client identifier not valid */
		n = mqtt_put_connack(out, sizeof(out), lc->level,
				     lc->sub ? 0 : lc->level == MQTT_V5 ?
				     0x85 : 2);
		lc->state = LIMIT_SUBSCRIBE;
	} else if (lc->state == LIMIT_SUBSCRIBE && lc->sub &&
		   !mqtt_parse_subscribe(pkt, lc->level, &pid, &filter,
					 &filter_len, &qos)) {
		n = mqtt_put_suback(out, sizeof(out), lc->level, pid, 0);
		/* A block, plus one frame that alone is larger than a block */
		lc->block = malloc(BLOCK_SIZE +
				   mqtt_publish_len(lc->level, MAX_TOPIC, 0,
						    l->bench->opt.payload));
		if (!lc->block || (l->filler &&
				   pipe2(lc->pipe, O_NONBLOCK | O_CLOEXEC))) {
			limit_close(l, lc);
			return;
		}
		lc->state = LIMIT_STREAM;
	}
	if (n && write(lc->fd, out, n) != (ssize_t)n)
		limit_close(l, lc);
}

/* Reads the handshake; afterwards only drains (PINGREQ, DISCONNECT). */
static void limit_read(struct limit *l, struct limit_conn *lc)
{
	struct mqtt_packet pkt;
	ssize_t n, framed;
	size_t off;

	while (lc->fd >= 0) {
		n = read(lc->fd, lc->rx + lc->rx_len, sizeof(lc->rx) - lc->rx_len);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				limit_close(l, lc);
			return;
		}
		lc->rx_len += n;
		off = 0;
		while (lc->fd >= 0 &&
		       (framed = mqtt_frame(lc->rx + off, lc->rx_len - off,
					    sizeof(lc->rx), &pkt)) > 0) {
			limit_on_packet(l, lc, &pkt);
			off += framed;
		}
		memmove(lc->rx, lc->rx + off, lc->rx_len - off);
		lc->rx_len -= off;
		if (lc->rx_len == sizeof(lc->rx))
			lc->rx_len = 0;
	}
}

/* The next block of frames for one subscriber, stamped now. */
static void limit_fill(struct limit *l, struct limit_conn *lc)
{
	struct bench *b = l->bench;
	struct subscriber *s = lc->sub;
	uint64_t now = now_ns(), frames = 0;
	size_t len = 0, hdr, need;

	while (s->npubs) {
		uint32_t slot = lc->next_slot;
		struct publisher *p = &b->pubs[s->pubs[slot]];
		struct stamp stamp = {
			.sent_ns = now,
			.pub = p->idx,
			.seq = (uint32_t)s->track[slot].sent,
		};

		need = mqtt_publish_len(lc->level, p->topic_len, 0,
					b->opt.payload);
		if (len + need > BLOCK_SIZE && len)
			break;
		hdr = mqtt_put_publish_header(lc->block + len, need, lc->level,
					      p->topic, p->topic_len, 0, 0,
					      b->opt.payload);
		memcpy(lc->block + len + hdr, &stamp, STAMP_SIZE);
		s->track[slot].sent++;
		lc->next_slot = slot + 1 == s->npubs ? 0 : slot + 1;
		frames++;
		if (l->filler) {
			/* One frame: the filler follows from the pipe. */
			len += hdr + STAMP_SIZE;
			lc->filler_left = l->filler_len;
			break;
		}
		memset(lc->block + len + hdr + STAMP_SIZE, 'k',
		       b->opt.payload - STAMP_SIZE);
		len += need;
	}
	lc->block_len = len;
	lc->off = 0;
	__atomic_store_n(&l->written, l->written + frames, __ATOMIC_RELAXED);
}

/* Whether the block (and its spliced filler) is not all written yet. */
static bool limit_pending(const struct limit_conn *lc)
{
	return lc->off < lc->block_len || lc->filler_left || lc->piped;
}

/*
 * The next piece of a spliced frame's filler: into the pipe once it is
 * empty, then from the pipe to the socket.  Returns splice()'s result.
 */
static ssize_t limit_splice(struct limit *l, struct limit_conn *lc)
{
	struct iovec iov;
	ssize_t n;

	if (!lc->piped) {
		iov.iov_base = l->filler + (l->filler_len - lc->filler_left);
		iov.iov_len = lc->filler_left;
		n = vmsplice(lc->pipe[1], &iov, 1, SPLICE_F_NONBLOCK);
		if (n <= 0) {
			/* The pipe is empty: no reason to wait. */
			if (!n || errno == EAGAIN)
				errno = EIO;
			return -1;
		}
		lc->filler_left -= n;
		lc->piped = n;
	}
	n = splice(lc->pipe[0], NULL, lc->fd, NULL, lc->piped,
		   SPLICE_F_NONBLOCK | (lc->filler_left ? SPLICE_F_MORE : 0));
	if (n > 0)
		lc->piped -= n;
	return n;
}

/* Writes until the socket is full; new blocks only while running. */
static void limit_write(struct limit *l, struct limit_conn *lc, bool running)
{
	ssize_t n;

	while (lc->fd >= 0 && lc->writable) {
		if (!limit_pending(lc)) {
			if (!running)
				return;
			limit_fill(l, lc);
			if (!lc->block_len)
				return;
		}
		if (lc->off < lc->block_len)
			/* A spliced frame's filler follows: hold the push. */
			n = send(lc->fd, lc->block + lc->off,
				 lc->block_len - lc->off,
				 l->filler ? MSG_MORE : 0);
		else
			n = limit_splice(l, lc);
		if (n > 0 && lc->off < lc->block_len)
			lc->off += n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			lc->writable = false;
		else if (n < 0 && errno != EINTR)
			limit_close(l, lc);
	}
}

static bool limit_busy(struct limit *l, bool running)
{
	uint32_t i;

	for (i = 0; i < l->nconns; i++) {
		struct limit_conn *lc = l->conns[i];

		if (lc->fd >= 0 && lc->state == LIMIT_STREAM && lc->writable &&
		    (running || limit_pending(lc)))
			return true;
	}
	return false;
}

static void *limit_main(void *arg)
{
	struct limit *l = arg;
	struct epoll_event ev[256];
	bool running;
	int n, i;
	uint32_t c;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		running = bench_phase(l->bench) == PHASE_RUN;
		/* running holds for this whole pass: no block after this */
		if (bench_phase(l->bench) > PHASE_RUN)
			__atomic_store_n(&l->quiesced, 1, __ATOMIC_RELEASE);
		n = epoll_wait(l->epfd, ev, 256,
			       limit_busy(l, running) ? 0 : 20);
		for (i = 0; i < n; i++) {
			struct limit_conn *lc = ev[i].data.ptr;

			if (!lc) {
				limit_accept(l);
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				lc->writable = true;
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				limit_read(l, lc);
		}
		for (c = 0; c < l->nconns; c++)
			if (l->conns[c]->state == LIMIT_STREAM)
				limit_write(l, l->conns[c], running);
	}
	return NULL;
}

static int limit_alloc(struct limit *l)
{
	uint32_t payload = l->bench->opt.payload;
	long page = sysconf(_SC_PAGESIZE);

	l->conns = calloc(l->bench->plan.nclients + 1, sizeof(*l->conns));
	if (!l->conns)
		return -ENOMEM;
	if (payload < SPLICE_MIN)
		return 0;
	/* Page aligned: the pipe takes whole pages of it, 16 at a time. */
	l->filler_len = payload - STAMP_SIZE;
	l->filler = aligned_alloc(page, (l->filler_len + page - 1) / page *
				  page);
	if (!l->filler)
		return -ENOMEM;
	memset(l->filler, 'k', l->filler_len);
	return 0;
}

static void limit_free(struct limit *l)
{
	uint32_t i;

	for (i = 0; i < l->nconns; i++)
		limit_conn_free(l->conns[i]);
	/*
	 * vmsplice shares the filler's pages with the sockets: by now they
	 * are closed, and what they still queue is never read.
	 */
	free(l->filler);
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->conns);
	free(l);
}

int limit_start(struct bench *b)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct limit *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->bench = b;
	l->lfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL;
	if (l->epfd < 0 || limit_alloc(l) || limit_listen(l) ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->lfd, &ev) ||
	    pthread_create(&l->thread, NULL, limit_main, l)) {
		limit_free(l);
		return -1;
	}
	pthread_getcpuclockid(l->thread, &l->cpu_clock);
	b->limit = l;
	return 0;
}

/* Stops the thread; the counters stay readable until limit_free(). */
void limit_stop(struct bench *b)
{
	struct limit *l = b->limit;

	if (!l || l->stop)
		return;
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	pthread_join(l->thread, NULL);
}

void limit_destroy(struct bench *b)
{
	if (!b->limit)
		return;
	limit_stop(b);
	limit_free(b->limit);
	b->limit = NULL;
}

uint64_t limit_written(const struct bench *b)
{
	return b->limit ? __atomic_load_n(&b->limit->written,
					  __ATOMIC_RELAXED) : 0;
}

/* Once true, limit_written() no longer grows. */
bool limit_quiesced(const struct bench *b)
{
	return !b->limit || __atomic_load_n(&b->limit->quiesced,
					    __ATOMIC_ACQUIRE);
}

clockid_t limit_cpu_clock(const struct bench *b)
{
	return b->limit->cpu_clock;
}
