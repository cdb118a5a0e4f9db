/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Base64 (RFC 4648, standard alphabet, padded), as password files and
 * SCRAM messages carry salts, hashes and proofs: strict decoding of short
 * values, encoding.
 */
#ifndef KMQTTD_BASE64_H
#define KMQTTD_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The longest value base64_decode() takes, in bytes decoded. */
#define BASE64_DECODE_MAX	192

/* Characters base64_encode() writes for @len bytes, without a NUL. */
#define BASE64_ENCODED_LEN(len)	(((len) + 2) / 3 * 4)

/*
 * Decode the @len characters at @in into @out (at most @max bytes): only
 * the alphabet, a length that is a multiple of 4, '=' only as the one or
 * two last.  Returns the bytes decoded, or -1.
 */
int base64_decode(const char *in, size_t len, uint8_t *out, size_t max);

/*
 * Encode the @len bytes at @in into @out (BASE64_ENCODED_LEN(@len) + 1
 * bytes, NUL-terminated).  Returns the characters written.
 */
size_t base64_encode(const uint8_t *in, size_t len, char *out);

#endif /* KMQTTD_BASE64_H */
