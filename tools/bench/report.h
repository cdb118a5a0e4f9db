/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU accounting and the final report.  kmqtt's data plane runs in kernel
 * workers that belong to no process, so the broker's CPU time is the whole
 * machine's busy time (/proc/stat) minus kmqtt-bench's own (getrusage);
 * for a userspace broker --broker-pid reads its process's time directly.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "bench.h"

struct cpu_sample {
	uint64_t at_ns;
	uint64_t idle_ticks;	/* /proc/stat, all CPUs: idle and iowait */
	double self_s;		/* kmqtt-bench, every thread */
	double broker_s;	/* --broker-pid; -1 when unknown */
	double thread_s[MAX_THREADS + 1];	/* workers, then limit's */
};

struct result {
	double setup_s;
	double run_s;		/* the measured window: publishing */
	double drain_s;
	uint64_t published;
	uint64_t published_bytes;
	uint64_t expected;
	uint64_t delivered;	/* distinct, over the whole run */
	uint64_t delivered_in_run;	/* all, during the window */
	uint64_t delivered_bytes;
	uint64_t dups;
	uint64_t late;
	uint64_t unexpected;
	uint64_t lost;
	uint64_t closed;
	uint64_t ack_errors;
	uint64_t refused;	/* 5.0 PUBACK/PUBREC/PUBCOMP failure codes */
	uint64_t window_timeouts;
	double publish_rate;
	double delivered_rate;
	double delivered_bytes_rate;
	struct hist latency;
	int ncpus;
	double cpu_busy;	/* CPUs' worth, e.g. 1.9 of 2 */
	double cpu_generator;
	double cpu_others;
	double cpu_broker_pid;	/* -1: not asked for or not readable */
	uint32_t nthreads;	/* workers, and limit mode's broker */
	double busiest_thread;	/* share of one CPU */
	bool generator_bound;
};

void counters_sum(const struct bench *b, struct counters *sum);
void cpu_sample(struct cpu_sample *s, const struct bench *b);
void result_collect(struct result *r, const struct bench *b,
		    const struct cpu_sample *start, const struct cpu_sample *stop,
		    const struct counters *at_stop);
void result_print(const struct result *r, const struct bench *b);
void progress_print(const struct bench *b, double elapsed_s,
		    const struct counters *now, const struct counters *before,
		    double interval_s);

#endif
