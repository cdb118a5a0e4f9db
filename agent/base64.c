// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
	uint8_t buf[BASE64_DECODE_MAX + 2];
	size_t pad = 0, i;
	int n;

	if (len == 0 || len % 4 || len / 4 * 3 > sizeof(buf))
		return -1;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	/* EVP_DecodeBlock() skips blanks and takes '=' anywhere. */
	for (i = 0; i < len - pad; i++)
		if (!in[i] || !strchr(alphabet, in[i]))
			return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > max)
		return -1;
	memcpy(out, buf, (size_t)n - pad);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n - (int)pad;
}

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}
