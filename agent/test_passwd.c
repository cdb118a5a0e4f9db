// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of agent/passwd.c.
 *
 * The fixed hashes below were made with Python's hashlib, independently of
 * OpenSSL's PBKDF2 and of this code:
 *   salt = b"kmqtt-salt-6"
 *   "$6$" + b64(salt) + "$" + b64(sha512(b"secret6" + salt).digest())
 *   salt = b"kmqtt-salt-7"
 *   "$7$101$" + b64(salt) + "$" + b64(pbkdf2_hmac("sha512", b"secret7",
 *                                                  salt, 101))
 *   same with 1000 iterations and "pässwörd" (UTF-8)
 * The mosquitto_passwd test makes its file with Debian's mosquitto_passwd
 * (package mosquitto) at run time, in both of its formats.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "passwd.h"
#include "kselftest_harness.h"

#define HASH6_SECRET6 \
	"$6$a21xdHQtc2FsdC02$BokBHzHOuGzD0LhSLnbVi+r88r0GIndG6uKOLwOVWYrymFOVLpFa8/1ETzqe4znnimqsOnFA0NR2OxMT/cB+Pg=="
#define HASH7_SECRET7 \
	"$7$101$a21xdHQtc2FsdC03$HXu/WrmeiKcVuiHQqsnp1B/MRS4V76Z1ZAckEvaFBkBGfLxKgjBwWEDRPJwewE1YNAUml3UrkOetyuCcaeSewQ=="
#define HASH7_UTF8 \
	"$7$1000$a21xdHQtc2FsdC03$EDyuipB/+QBIYHxVIaTGxnTZGu6zUlo1eLZ3KIkhNie9HLViMYBCzmyZ6Qx9cZ5A+HCyqxw3yPyRUvEsnc2vzw=="

FIXTURE(pw) {
	char dir[64];
	char path[128];
	char err[512];
};

FIXTURE_SETUP(pw)
{
	strcpy(self->dir, "/tmp/test_passwd.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/passwd", self->dir);
}

FIXTURE_TEARDOWN(pw)
{
	unlink(self->path);
	rmdir(self->dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static bool verify(const struct passwd_file *pf, const char *user,
		   const char *password)
{
	return passwd_verify(pf, (const uint8_t *)user, strlen(user),
			     (const uint8_t *)password, strlen(password));
}

TEST_F(pw, python_vectors)
{
	struct passwd_file *pf;

	write_file(self->path,
		   "# made with hashlib\n"
		   "\n"
		   "six:" HASH6_SECRET6 "\r\n"
		   "seven:" HASH7_SECRET7 "  \n"
		   "utf8:" HASH7_UTF8);
	pf = passwd_load(self->path, self->err, sizeof(self->err));
	ASSERT_NE(NULL, pf) TH_LOG("%s", self->err);
	EXPECT_EQ(3, passwd_count(pf));
	EXPECT_TRUE(verify(pf, "six", "secret6"));
	EXPECT_TRUE(verify(pf, "seven", "secret7"));
	EXPECT_TRUE(verify(pf, "utf8", "pässwörd"));
	EXPECT_FALSE(verify(pf, "six", "secret7"));
	EXPECT_FALSE(verify(pf, "seven", "secret6"));
	EXPECT_FALSE(verify(pf, "seven", "secret"));
	EXPECT_FALSE(verify(pf, "seven", "secret77"));
	EXPECT_FALSE(verify(pf, "seven", ""));
	EXPECT_FALSE(verify(pf, "Seven", "secret7"));
	EXPECT_FALSE(verify(pf, "sev", "secret7"));
	EXPECT_FALSE(verify(pf, "nobody", "secret7"));
	EXPECT_FALSE(verify(pf, "", ""));
	/*
	 * The password is binary: a NUL byte is part of it.  ($7$ cannot
	 * tell: HMAC pads its key, the password, with zero bytes.)
	 */
	EXPECT_FALSE(passwd_verify(pf, (const uint8_t *)"six", 3,
				   (const uint8_t *)"secret6\0", 8));
	passwd_free(pf);
}

static int run_mosquitto_passwd(const char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(pw, mosquitto_passwd)
{
	const char *create[] = { "mosquitto_passwd", "-c", "-b", self->path,
				 "alice", "wonderland", NULL };
	const char *sha512[] = { "mosquitto_passwd", "-H", "sha512", "-b",
				 self->path, "bob", "the builder $6$", NULL };
	const char *spaces[] = { "mosquitto_passwd", "-b", self->path,
				 "carol smith", "pässwörd", NULL };
	struct passwd_file *pf;
	int rc;

	rc = run_mosquitto_passwd(create);
	if (rc == 127)
		SKIP(return, "mosquitto_passwd is not installed (apt-get install mosquitto)");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, run_mosquitto_passwd(sha512));
	ASSERT_EQ(0, run_mosquitto_passwd(spaces));
	pf = passwd_load(self->path, self->err, sizeof(self->err));
	ASSERT_NE(NULL, pf) TH_LOG("%s", self->err);
	EXPECT_EQ(3, passwd_count(pf));
	EXPECT_TRUE(verify(pf, "alice", "wonderland"));
	EXPECT_TRUE(verify(pf, "bob", "the builder $6$"));
	EXPECT_TRUE(verify(pf, "carol smith", "pässwörd"));
	EXPECT_FALSE(verify(pf, "alice", "Wonderland"));
	EXPECT_FALSE(verify(pf, "bob", "the builder"));
	EXPECT_FALSE(verify(pf, "carol", "pässwörd"));
	passwd_free(pf);
}

/* Each malformed line fails the load and names itself. */
TEST_F(pw, malformed_lines)
{
	static const struct {
		const char *line;
		const char *error;
	} cases[] = {
		{ "nocolon", "expected username:secret" },
		{ ":" HASH7_SECRET7, "empty username" },
		{ "plain:", "no secret after the username" },
		{ "plain:secret", "does not start with $6$ or $7$" },
		{ "five:$5$c2FsdA==$aGFzaA==", "unknown hash type" },
		{ "six:$6$a21xdHQtc2FsdC02", "$6$SALT$HASH" },
		{ "seven:$7$a21xdHQtc2FsdC03$aGFzaA==", "$7$ITERATIONS$SALT$HASH" },
		{ "seven:$7$0$a21xdHQtc2FsdC03$aGFzaA==", "bad iteration count" },
		{ "seven:$7$1x$a21xdHQtc2FsdC03$aGFzaA==", "bad iteration count" },
		{ "seven:$7$99999999999$a21xdHQtc2FsdC03$aGFzaA==", "bad iteration count" },
		{ "six:$6$a21x!HQtc2FsdC02$aGFzaA==", "salt is not valid base64" },
		{ "six:$6$a21xdHQtc2FsdC0$aGFzaA==", "salt is not valid base64" },
		{ "six:$6$a21xdHQtc2FsdC02$aGFzaA==", "hash is not 64 bytes" },
		{ "six:$6$a21xdHQtc2FsdC02$aGFz=aA==", "hash is not 64 bytes" },
		{ "six:" HASH6_SECRET6 "$x", "$6$SALT$HASH" },
		{ "seven:" HASH7_SECRET7 "$x", "too many $ fields" },
	};
	char text[512], want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "# comment\nok:%s\n%s\n",
			 HASH7_SECRET7, cases[i].line);
		write_file(self->path, text);
		ASSERT_EQ(NULL, passwd_load(self->path, self->err,
					    sizeof(self->err)))
			TH_LOG("accepted: %s", cases[i].line);
		snprintf(want, sizeof(want), "%s:3: ", self->path);
		EXPECT_EQ(0, strncmp(self->err, want, strlen(want)))
			TH_LOG("%s", self->err);
		EXPECT_NE(NULL, strstr(self->err, cases[i].error))
			TH_LOG("%s: %s", cases[i].line, self->err);
	}
}

TEST_F(pw, duplicate_user)
{
	write_file(self->path, "a:" HASH6_SECRET6 "\nb:" HASH6_SECRET6
		   "\na:" HASH7_SECRET7 "\n");
	ASSERT_EQ(NULL, passwd_load(self->path, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "user a is given twice"))
		TH_LOG("%s", self->err);
}

TEST_F(pw, empty_file)
{
	struct passwd_file *pf;

	write_file(self->path, "# nobody\n\n");
	pf = passwd_load(self->path, self->err, sizeof(self->err));
	ASSERT_NE(NULL, pf) TH_LOG("%s", self->err);
	EXPECT_EQ(0, passwd_count(pf));
	EXPECT_FALSE(verify(pf, "alice", "wonderland"));
	passwd_free(pf);
}

TEST_F(pw, missing_file)
{
	ASSERT_EQ(NULL, passwd_load(self->path, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "No such file or directory"));
}

TEST_HARNESS_MAIN
