// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/*
 * Below 2 * HIST_SUB a value is its own bucket.  Above, shifting it right
 * until it is below 2 * HIST_SUB keeps its HIST_SUB_BITS + 1 top bits, and
 * each shift count owns the next HIST_SUB buckets.
 */
unsigned int hist_index(uint64_t value)
{
	unsigned int shift;

	if (value < 2 * HIST_SUB)
		return value;
	shift = 63 - __builtin_clzll(value) - HIST_SUB_BITS;
	return shift * HIST_SUB + (value >> shift);
}

/* The largest value that falls in bucket index. */
uint64_t hist_bucket_high(unsigned int index)
{
	unsigned int shift;
	uint64_t top;

	if (index < 2 * HIST_SUB)
		return index;
	shift = index / HIST_SUB - 1;
	top = index - shift * HIST_SUB;
	return ((top + 1) << shift) - 1;
}

void hist_add(struct hist *h, uint64_t value)
{
	h->bucket[hist_index(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/*
 * The value at or below which percent % of the samples lie: the top of the
 * bucket holding that rank, never above the largest sample.  0 when empty.
 */
uint64_t hist_percentile(const struct hist *h, double percent)
{
	uint64_t rank, seen = 0, high;
	unsigned int i;

	if (!h->count)
		return 0;
	rank = (uint64_t)(percent / 100.0 * h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	high = hist_bucket_high(i);
	return high < h->max ? high : h->max;
}

uint64_t hist_mean(const struct hist *h)
{
	return h->count ? h->sum / h->count : 0;
}
