// SPDX-License-Identifier: GPL-2.0
/*
 * agent/scram.c, the server's side of SCRAM-SHA-256, on hostile client
 * messages: the first input byte is the length of the client-first
 * message (CONNECT's Authentication Data), the rest the client-final one
 * (the client's AUTH), against a scram_file holding RFC 7677's user
 * "user" with the server nonce fixed.  The seed is RFC 7677's exchange,
 * so the success path runs too.
 *
 * Checked: the server's answers fit an AUTH (AUTH_METHOD_DATA_MAX); a
 * success names "user", the only one who can succeed; a failure says why.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/scram.h"
#include "agent/scram_file.h"

#include "fuzz.h"

#define NONCE	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

static const char line[] =
	"user:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n";

static void check(const struct auth_method_result *res)
{
	FUZZ_CHECK(res->data_len <= AUTH_METHOD_DATA_MAX);
	FUZZ_CHECK(res->verdict != AUTH_METHOD_SUCCESS ||
		   (res->identity && !strcmp(res->identity, "user")));
	FUZZ_CHECK(res->verdict != AUTH_METHOD_FAIL || res->reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct scram_file *users;
	struct auth_method_result res;
	struct scram_exchange *x;
	size_t first;
	char err[256];

	if (!users) {
		users = scram_file_load(fuzz_write_file("scram", line,
							sizeof(line) - 1),
					err, sizeof(err));
		FUZZ_CHECK(users);
	}
	if (!size)
		return 0;
	first = data[0] < size - 1 ? data[0] : size - 1;
	memset(&res, 0, sizeof(res));
	x = scram_first(users, data + 1, first, NONCE, &res);
	check(&res);
	if (x && res.verdict == AUTH_METHOD_CONTINUE) {
		memset(&res, 0, sizeof(res));
		scram_final(x, data + 1 + first, size - 1 - first, &res);
		check(&res);
	}
	scram_end(x);
	return 0;
}
