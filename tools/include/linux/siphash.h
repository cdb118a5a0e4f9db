/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/siphash.h: hsiphash() as
 * SipHash-1-3 with a 64-bit state, which is what the kernel uses on 64-bit
 * machines (values need not match the kernel's; only the keyed spread does).
 */
#ifndef _TOOLS_LINUX_SIPHASH_H
#define _TOOLS_LINUX_SIPHASH_H

#include <string.h>
#include <linux/types.h>

typedef struct {
	unsigned long key[2];
} hsiphash_key_t;

static inline u64 shim_rol64(u64 x, unsigned int n)
{
	return x << n | x >> (64 - n);
}

static inline void shim_sipround(u64 v[4])
{
	v[0] += v[1]; v[1] = shim_rol64(v[1], 13); v[1] ^= v[0];
	v[0] = shim_rol64(v[0], 32);
	v[2] += v[3]; v[3] = shim_rol64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = shim_rol64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = shim_rol64(v[1], 17); v[1] ^= v[2];
	v[2] = shim_rol64(v[2], 32);
}

static inline u32 hsiphash(const void *data, size_t len,
			   const hsiphash_key_t *key)
{
	u64 k0 = key->key[0], k1 = key->key[1];
	u64 v[4] = {
		0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
		0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1,
	};
	u64 m, last = (u64)len << 56;
	const u8 *p = data;
	size_t i;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&m, p, 8);	/* little-endian hosts */
		v[3] ^= m;
		shim_sipround(v);
		v[0] ^= m;
	}
	for (i = 0; i < len; i++)
		last |= (u64)p[i] << (8 * i);
	v[3] ^= last;
	shim_sipround(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (i = 0; i < 3; i++)
		shim_sipround(v);
	return (u32)(v[0] ^ v[1] ^ v[2] ^ v[3]);
}

#endif
