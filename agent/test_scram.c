// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of SCRAM-SHA-256 (agent/scram.c) and scram_file
 * (agent/scram_file.c).  The RFC 7677 (section 3) exchange is the
 * reference: user "user", password "pencil", its nonces and salt.  Its
 * StoredKey and ServerKey were computed with Python's hashlib and hmac,
 * independently of OpenSSL and of this code:
 *   salted = pbkdf2_hmac("sha256", b"pencil", b64decode(SALT), 4096)
 *   client_key = hmac(salted, b"Client Key", sha256)
 *   b64(sha256(client_key)), b64(hmac(salted, b"Server Key", sha256))
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "scram.h"
#include "scram_file.h"
#include "test_scram_client.h"
#include "kselftest_harness.h"

#define RFC_SALT	"W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_STORED_KEY	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
#define RFC_SERVER_KEY	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define RFC_LINE	"user:SCRAM-SHA-256$4096:" RFC_SALT "$" \
			RFC_STORED_KEY ":" RFC_SERVER_KEY "\n"
#define RFC_CLIENT_FIRST	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_NONCE	"rOprNGfwEbeRWgbNEkqO" RFC_SERVER_NONCE
#define RFC_SERVER_FIRST	"r=" RFC_NONCE ",s=" RFC_SALT ",i=4096"
#define RFC_PROOF	"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_CLIENT_FINAL	"c=biws,r=" RFC_NONCE ",p=" RFC_PROOF
#define RFC_SERVER_FINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

FIXTURE(scram) {
	char dir[64];
	char path[128];
	char err[512];
	struct scram_file *f;
	struct scram_exchange *x;
	struct auth_method_result res;
};

FIXTURE_SETUP(scram)
{
	strcpy(self->dir, "/tmp/test_scram.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/scram", self->dir);
	self->f = NULL;
	self->x = NULL;
}

FIXTURE_TEARDOWN(scram)
{
	scram_end(self->x);
	scram_file_free(self->f);
	unlink(self->path);
	rmdir(self->dir);
}

/* @text as the fixture's file, loaded. */
static struct scram_file *load(FIXTURE_DATA(scram) *self, const char *text)
{
	FILE *f = fopen(self->path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return scram_file_load(self->path, self->err, sizeof(self->err));
}

#define MSG(s)	(const uint8_t *)(s), strlen(s)

/* @res has the verdict and, as a string, the data. */
static bool result_is(const struct auth_method_result *res,
		      enum auth_method_verdict verdict, const char *data)
{
	return res->verdict == verdict && res->data_len == strlen(data) &&
	       !memcmp(res->data, data, res->data_len);
}

/* The RFC's user in the file, and its exchange started with @client_first. */
static void start_rfc(struct __test_metadata *_metadata,
		      FIXTURE_DATA(scram) *self, const char *client_first)
{
	self->f = load(self, RFC_LINE);
	ASSERT_NE(NULL, self->f) TH_LOG("%s", self->err);
	self->x = scram_first(self->f, MSG(client_first), RFC_SERVER_NONCE,
			      &self->res);
	ASSERT_NE(NULL, self->x);
}

/* RFC 7677 section 3, message for message. */
TEST_F(scram, rfc7677_exchange)
{
	start_rfc(_metadata, self, RFC_CLIENT_FIRST);
	ASSERT_TRUE(result_is(&self->res, AUTH_METHOD_CONTINUE,
			      RFC_SERVER_FIRST));
	scram_final(self->x, MSG(RFC_CLIENT_FINAL), &self->res);
	ASSERT_TRUE(result_is(&self->res, AUTH_METHOD_SUCCESS,
			      RFC_SERVER_FINAL)) TH_LOG("%s", self->res.reason);
	EXPECT_STREQ("user", self->res.identity);
	/* nothing after the final step */
	scram_final(self->x, MSG(RFC_CLIENT_FINAL), &self->res);
	EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict);
}

/* The keys the file keeps, from the password, as Python computed them. */
TEST(derive_rfc7677_keys)
{
	uint8_t salt[16], stored[SCRAM_KEY_LEN], server[SCRAM_KEY_LEN];
	struct scram_secret s;

	ASSERT_EQ(16, base64_decode(RFC_SALT, strlen(RFC_SALT), salt,
				    sizeof(salt)));
	ASSERT_EQ(SCRAM_KEY_LEN, base64_decode(RFC_STORED_KEY,
					       strlen(RFC_STORED_KEY), stored,
					       sizeof(stored)));
	ASSERT_EQ(SCRAM_KEY_LEN, base64_decode(RFC_SERVER_KEY,
					       strlen(RFC_SERVER_KEY), server,
					       sizeof(server)));
	ASSERT_EQ(0, scram_derive(MSG("pencil"), salt, sizeof(salt), 4096,
				  &s));
	EXPECT_EQ(4096, s.iterations);
	EXPECT_EQ(0, memcmp(stored, s.stored_key, SCRAM_KEY_LEN));
	EXPECT_EQ(0, memcmp(server, s.server_key, SCRAM_KEY_LEN));
}

/* A wrong password's proof, or another nonce: refused, no data. */
TEST_F(scram, wrong_proof_refused)
{
	static const char *const finals[] = {
		/* the RFC's proof with its first byte changed */
		"c=biws,r=" RFC_NONCE ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" RFC_NONCE "x,p=" RFC_PROOF,
		"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=" RFC_PROOF,
		"c=eSws,r=" RFC_NONCE ",p=" RFC_PROOF,
		"r=" RFC_NONCE ",c=biws,p=" RFC_PROOF,
		"c=biws,r=" RFC_NONCE,
		"c=biws,r=" RFC_NONCE ",p=" RFC_PROOF ",x=1",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",
		"c=biws,r=" RFC_NONCE ",p=!HzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		scram_end(self->x);
		scram_file_free(self->f);
		start_rfc(_metadata, self, RFC_CLIENT_FIRST);
		ASSERT_EQ(AUTH_METHOD_CONTINUE, self->res.verdict);
		scram_final(self->x, MSG(finals[i]), &self->res);
		EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict)
			TH_LOG("accepted: %s", finals[i]);
		EXPECT_EQ(0, self->res.data_len);
		EXPECT_NE(NULL, self->res.reason);
	}
	/* the proof with a NUL inside */
	scram_end(self->x);
	scram_file_free(self->f);
	start_rfc(_metadata, self, RFC_CLIENT_FIRST);
	scram_final(self->x, (const uint8_t *)RFC_CLIENT_FINAL "\0",
		    sizeof(RFC_CLIENT_FINAL), &self->res);
	EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict);
}

/* Client-first messages refused before any server-first. */
TEST_F(scram, malformed_client_first_refused)
{
	static const char *const firsts[] = {
		"",
		"n,",
		"n,,",
		"p=tls-unique,,n=user,r=abc",
		"n,a=admin,n=user,r=abc",
		"x,,n=user,r=abc",
		"n,,m=ext,n=user,r=abc",
		"n,,r=abc",
		"n,,r=abc,n=user",
		"n,,n=user",
		"n,,n=user,r=",
		"n,,n=user,r=a b",
		"n,,n=,r=abc",
		"n,,n=us=er,r=abc",
		"n,,n=us=2Cer=3,r=abc",
	};
	char long_nonce[400];
	size_t i;

	self->f = load(self, RFC_LINE);
	ASSERT_NE(NULL, self->f) TH_LOG("%s", self->err);
	for (i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
		self->x = scram_first(self->f, MSG(firsts[i]), "sn", &self->res);
		EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict)
			TH_LOG("accepted: %s", firsts[i]);
		scram_end(self->x);
		self->x = NULL;
	}
	snprintf(long_nonce, sizeof(long_nonce), "n,,n=user,r=%0300d", 0);
	self->x = scram_first(self->f, MSG(long_nonce), "sn", &self->res);
	EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict);
}

/*
 * A line of --scram-entry, a user name with ',' and '=' (saslname
 * "=2C", "=3D"): the method, with a random nonce, lets its password in.
 */
TEST_F(scram, file_line_and_method)
{
	const char *bare = "n=a=2Cb=3Dc,r=clientnonce";
	char *line, first[128], final[256], text[512];
	void *session = NULL;

	line = scram_file_line("a,b=c", MSG("pässwörd"), self->err,
			       sizeof(self->err));
	ASSERT_NE(NULL, line) TH_LOG("%s", self->err);
	EXPECT_EQ(0, strncmp("a,b=c:SCRAM-SHA-256$4096:", line, 25));
	snprintf(text, sizeof(text), "# made by kmqttd --scram-entry\n%s\n",
		 line);
	free(line);
	self->f = load(self, text);
	ASSERT_NE(NULL, self->f) TH_LOG("%s", self->err);
	snprintf(first, sizeof(first), "n,,%s", bare);
	scram_sha256_method.start(self->f, MSG(first), &session, &self->res);
	ASSERT_EQ(AUTH_METHOD_CONTINUE, self->res.verdict);
	/* the client's nonce, then the server's 24 characters */
	ASSERT_EQ(0, strncmp("r=clientnonce", (const char *)self->res.data,
			     13));
	ASSERT_EQ(',', self->res.data[13 + 24]);
	scram_client_final("pässwörd", bare, (const char *)self->res.data,
			   self->res.data_len, final, sizeof(final));
	scram_sha256_method.step(session, MSG(final), &self->res);
	EXPECT_EQ(AUTH_METHOD_SUCCESS, self->res.verdict)
		TH_LOG("%s", self->res.reason);
	EXPECT_STREQ("a,b=c", self->res.identity);
	EXPECT_EQ(0, strncmp("v=", (const char *)self->res.data, 2));
	scram_sha256_method.end(session);

	/* a wrong password */
	session = NULL;
	scram_sha256_method.start(self->f, MSG(first), &session, &self->res);
	scram_client_final("passwörd", bare, (const char *)self->res.data,
			   self->res.data_len, final, sizeof(final));
	scram_sha256_method.step(session, MSG(final), &self->res);
	EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict);
	scram_sha256_method.end(session);
}

/*
 * An unknown user gets a server-first like a known one's, the same each
 * time, and is refused at the end whatever its proof.
 */
TEST_F(scram, unknown_user_looks_known)
{
	char first[256], again[256], final[256];

	start_rfc(_metadata, self, "n,,n=nobody,r=abc");
	ASSERT_EQ(AUTH_METHOD_CONTINUE, self->res.verdict);
	snprintf(first, sizeof(first), "%.*s", (int)self->res.data_len,
		 (const char *)self->res.data);
	/* r=, the nonces, s= 16 bytes of salt, i=4096 */
	EXPECT_EQ(strlen("r=abc" RFC_SERVER_NONCE ",s=") + 24 + 7,
		  strlen(first));
	EXPECT_NE(NULL, strstr(first, ",i=4096"));
	scram_end(self->x);
	self->x = scram_first(self->f, MSG("n,,n=nobody,r=abc"),
			      RFC_SERVER_NONCE, &self->res);
	snprintf(again, sizeof(again), "%.*s", (int)self->res.data_len,
		 (const char *)self->res.data);
	EXPECT_STREQ(first, again);
	scram_client_final("pencil", "n=nobody,r=abc", first, strlen(first),
			   final, sizeof(final));
	scram_final(self->x, MSG(final), &self->res);
	EXPECT_EQ(AUTH_METHOD_FAIL, self->res.verdict);
}

TEST_F(scram, malformed_file_lines)
{
	static const struct {
		const char *line;
		const char *error;
	} cases[] = {
		{ "u:$7$101$c2FsdA==$aGFzaA==", "does not start with SCRAM-SHA-256$" },
		{ "u:SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED_KEY,
		  "ITERATIONS:SALT$STOREDKEY:SERVERKEY" },
		{ "u:SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED_KEY ":"
		  RFC_SERVER_KEY ":x", "ITERATIONS:SALT$STOREDKEY:SERVERKEY" },
		{ "u:SCRAM-SHA-256$4095:" RFC_SALT "$" RFC_STORED_KEY ":"
		  RFC_SERVER_KEY, "iteration count" },
		{ "u:SCRAM-SHA-256$x:" RFC_SALT "$" RFC_STORED_KEY ":"
		  RFC_SERVER_KEY, "iteration count" },
		{ "u:SCRAM-SHA-256$4096:W22Z!J0SNY7soEsUEjb6gQ==$" RFC_STORED_KEY
		  ":" RFC_SERVER_KEY, "salt" },
		{ "u:SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_SALT ":"
		  RFC_SERVER_KEY, "32 bytes" },
		{ "u:", "no secret" },
	};
	char text[512], want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s\n", RFC_LINE, cases[i].line);
		ASSERT_EQ(NULL, load(self, text)) TH_LOG("%s", cases[i].line);
		snprintf(want, sizeof(want), "%s:2: ", self->path);
		EXPECT_EQ(0, strncmp(self->err, want, strlen(want)))
			TH_LOG("%s", self->err);
		EXPECT_NE(NULL, strstr(self->err, cases[i].error))
			TH_LOG("%s: %s", cases[i].line, self->err);
	}
}

/* Names a line cannot hold are refused by --scram-entry. */
TEST(file_line_refuses_names)
{
	static const char *const names[] = {
		"", "a:b", "a\nb", "#a", "a ", "\xff",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		EXPECT_EQ(NULL, scram_file_line(names[i], MSG("pw"), err,
						sizeof(err)))
			TH_LOG("%s", names[i]);
	}
}

TEST_HARNESS_MAIN
