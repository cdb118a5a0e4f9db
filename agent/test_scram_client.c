// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "test_scram_client.h"

void scram_client_final(const char *password, const char *client_first_bare,
			const char *server_first, size_t len, char *out,
			size_t size)
{
	char first[512], nonce[256], salt_b64[128], auth[1024], proof_b64[64];
	uint8_t salt[64], salted[32], key[32], stored[32], sig[32], proof[32];
	unsigned int iterations = 0;
	int salt_len, i;

	out[0] = '\0';
	snprintf(first, sizeof(first), "%.*s", (int)len, server_first);
	if (sscanf(first, "r=%255[^,],s=%127[^,],i=%u", nonce, salt_b64,
		   &iterations) != 3)
		return;
	salt_len = base64_decode(salt_b64, strlen(salt_b64), salt,
				 sizeof(salt));
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, salt_len,
			  (int)iterations, EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Client Key", 10,
	     key, NULL);
	EVP_Digest(key, 32, stored, NULL, EVP_sha256(), NULL);
	snprintf(auth, sizeof(auth), "%s,%s,c=biws,r=%s", client_first_bare,
		 first, nonce);
	HMAC(EVP_sha256(), stored, 32, (const uint8_t *)auth, strlen(auth),
	     sig, NULL);
	for (i = 0; i < 32; i++)
		proof[i] = key[i] ^ sig[i];
	base64_encode(proof, 32, proof_b64);
	if (snprintf(out, size, "c=biws,r=%s,p=%s", nonce, proof_b64) >=
	    (int)size)
		out[0] = '\0';
}
