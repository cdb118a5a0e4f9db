/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The randomised tests' generator: xorshift64*, the same sequence
 * everywhere for a given seed, KMQTT_SEED=N or 20240611, printed by
 * rng_seed() at the start of each test.  Include after
 * kselftest_harness.h.
 */
#ifndef _KMQTT_UNIT_RNG_H
#define _KMQTT_UNIT_RNG_H

#include <stdio.h>
#include <stdlib.h>

#include <linux/types.h>

static u64 rng_state;

static void rng_seed(struct __test_metadata *_metadata)
{
	const char *env = getenv("KMQTT_SEED");

	rng_state = env ? strtoull(env, NULL, 0) : 20240611;
	ksft_print_msg("%s: seed %llu (set KMQTT_SEED to change)\n",
		       _metadata->name, (unsigned long long)rng_state);
	fflush(stdout);		/* the test child ends with _exit() */
	rng_state = rng_state * 2 + 1;		/* never zero */
}

static u32 rnd(u32 n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (u32)((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

#endif /* _KMQTT_UNIT_RNG_H */
