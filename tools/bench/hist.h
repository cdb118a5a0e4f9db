/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency histogram in the spirit of HdrHistogram: log2 buckets, each cut
 * into 32 linear sub-buckets, so any value is kept within 1/32 (3 %) of
 * its true value, from nanoseconds to centuries, in 15 KiB.  One per
 * thread; merged at the end.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	5
#define HIST_SUB	(1u << HIST_SUB_BITS)
/* Values below 2 * HIST_SUB are exact; above, one row per power of two. */
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t value);
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_percentile(const struct hist *h, double percent);
uint64_t hist_mean(const struct hist *h);

unsigned int hist_index(uint64_t value);
uint64_t hist_bucket_high(unsigned int index);

#endif
