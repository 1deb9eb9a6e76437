/*
 * tests/test_smtp_reply.c: core/smtp_reply.c: reply framing over partial
 * and oversized input, code checks, the log summary, and EHLO capabilities.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/smtp_reply.h"

/* Parses s whole; returns the result, out filled on COMPLETE. */
static int
parse(const char *s, struct smtp_reply *r, size_t *used, char **cause)
{
	return smtp_reply_parse(s, strlen(s), r, used, cause);
}

/* Asserts s is refused, with a message. */
static void
assert_invalid(const char *s, size_t len)
{
	struct smtp_reply r;
	size_t used = 12345;
	char *cause = NULL;

	cr_assert_eq(smtp_reply_parse(s, len, &r, &used, &cause),
	    SMTP_REPLY_INVALID, "accepted: %.60s", s);
	cr_assert_not_null(cause);
	cr_assert_gt(strlen(cause), 10);
	cr_assert_eq(used, 12345, "consumed set on failure");
	free(cause);
}

Test(smtp_reply, single_line)
{
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse("220 mx.example.com ESMTP Postfix\r\n", &r, &used,
	    NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.code, 220);
	cr_assert_eq(r.nlines, 1);
	cr_assert_str_eq(r.lines[0], "mx.example.com ESMTP Postfix");
	cr_assert_eq(used, 34);
	smtp_reply_clear(&r);
	cr_assert_eq(r.nlines, 0);
	cr_assert_null(r.lines);
}

Test(smtp_reply, multi_line)
{
	const char *s = "250-mx.example.com\r\n250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n250 8BITMIME\r\n";
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.code, 250);
	cr_assert_eq(r.nlines, 4);
	cr_assert_str_eq(r.lines[0], "mx.example.com");
	cr_assert_str_eq(r.lines[1], "PIPELINING");
	cr_assert_str_eq(r.lines[2], "SIZE 10240000");
	cr_assert_str_eq(r.lines[3], "8BITMIME");
	cr_assert_eq(used, strlen(s));
	smtp_reply_clear(&r);
}

Test(smtp_reply, incomplete_at_every_split_point)
{
	const char *s = "250-mx.example.com Hello\r\n250-PIPELINING\r\n"
	    "250-AUTH PLAIN LOGIN\r\n250 DSN\r\n";
	size_t len = strlen(s);

	for (size_t n = 0; n < len; n++) {
		struct smtp_reply r;
		size_t used = 777;
		char *cause = NULL;

		cr_assert_eq(smtp_reply_parse(s, n, &r, &used, &cause),
		    SMTP_REPLY_INCOMPLETE, "prefix of %zu bytes", n);
		cr_assert_null(cause);
		cr_assert_eq(used, 777);
		smtp_reply_clear(&r);
	}
}

Test(smtp_reply, consumed_leaves_the_following_bytes)
{
	/* A server that sends its 220 and something else in one packet. */
	const char *s = "220 2.0.0 Ready to start TLS\r\nINJECTED\r\n";
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.code, 220);
	cr_assert_eq(used, strlen("220 2.0.0 Ready to start TLS\r\n"));
	cr_assert_str_eq(s + used, "INJECTED\r\n");
	smtp_reply_clear(&r);
}

Test(smtp_reply, two_replies_in_one_buffer)
{
	const char *s = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n";
	size_t off = 0, used;
	int codes[3];

	for (int i = 0; i < 3; i++) {
		struct smtp_reply r;

		cr_assert_eq(smtp_reply_parse(s + off, strlen(s) - off, &r,
		    &used, NULL), SMTP_REPLY_COMPLETE);
		codes[i] = r.code;
		off += used;
		smtp_reply_clear(&r);
	}
	cr_assert_eq(off, strlen(s));
	cr_assert_eq(codes[0], 250);
	cr_assert_eq(codes[2], 354);
}

/* "250 xxx...\r\n" of exactly total octets, CRLF included. */
static char *
line_of(size_t total, const char *end)
{
	char *s = malloc(total + 1);

	memset(s, 'x', total);
	memcpy(s, "250 ", 4);
	memcpy(s + total - strlen(end), end, strlen(end));
	s[total] = '\0';
	return s;
}

Test(smtp_reply, line_of_512_octets_is_accepted)
{
	struct smtp_reply r;
	size_t used;
	char *s;

	s = line_of(512, "\r\n");
	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(used, 512);
	cr_assert_eq(strlen(r.lines[0]), 512 - 6);
	smtp_reply_clear(&r);
	free(s);

	s = line_of(512, "\n");		/* bare LF: 511 + LF */
	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(strlen(r.lines[0]), 512 - 5);
	smtp_reply_clear(&r);
	free(s);

	/* 511 bytes of one line, no line end yet: still waiting. */
	s = line_of(511, "x");
	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_INCOMPLETE);
	free(s);
}

Test(smtp_reply, line_of_513_octets_is_refused)
{
	char *s;

	s = line_of(513, "\r\n");
	assert_invalid(s, strlen(s));
	free(s);
	/* Without its line end yet: 512 bytes already cannot be a line. */
	s = line_of(512, "x");
	assert_invalid(s, strlen(s));
	free(s);
	s = line_of(600, "x");
	assert_invalid(s, strlen(s));
	free(s);
	s = line_of(10000, "\r\n");
	assert_invalid(s, strlen(s));
	free(s);
}

Test(smtp_reply, long_second_line_is_refused)
{
	char *s = line_of(700, "x"), *t;

	memcpy(s, "250-", 4);
	t = malloc(strlen(s) + 32);
	strcpy(t, "250-first\r\n");
	strcat(t, s);
	assert_invalid(t, strlen(t));
	free(t);
	free(s);
}

Test(smtp_reply, mismatched_codes_are_refused)
{
	assert_invalid("250-first\r\n251 second\r\n", 24);
	/* Known as soon as the code arrives. */
	assert_invalid("250-first\r\n251", 14);
}

Test(smtp_reply, bad_codes_are_refused)
{
	static const char *const bad[] = {
		"099 too low\r\n", "600 too high\r\n", "199 info\r\n",
		"2a0 letter\r\n", "25\r\n", "25 two digits\r\n", "\r\n",
		"250_underscore\r\n", "250x\r\n", "2500 four digits\r\n",
		" 250 leading space\r\n", "HTTP/1.1 400 Bad Request\r\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_invalid(bad[i], strlen(bad[i]));
}

Test(smtp_reply, bad_start_is_refused_before_the_line_end)
{
	/* A peer that is not an SMTP server need not send a line end. */
	assert_invalid("SSH-2.0-OpenSSH", 15);
	assert_invalid("2a", 2);
}

Test(smtp_reply, nul_byte_is_refused)
{
	assert_invalid("250 a\0b\r\n", 9);
}

Test(smtp_reply, bare_lf_is_accepted)
{
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse("250-one\n250 two\nrest", &r, &used, NULL),
	    SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.nlines, 2);
	cr_assert_str_eq(r.lines[0], "one");
	cr_assert_str_eq(r.lines[1], "two");
	cr_assert_eq(used, 16);
	smtp_reply_clear(&r);
}

Test(smtp_reply, bare_code_is_accepted)
{
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse("250\r\n", &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.code, 250);
	cr_assert_eq(r.nlines, 1);
	cr_assert_str_eq(r.lines[0], "");
	cr_assert_eq(used, 5);
	smtp_reply_clear(&r);

	cr_assert_eq(parse("354 \r\n", &r, &used, NULL), SMTP_REPLY_COMPLETE);
	cr_assert_eq(r.code, 354);
	cr_assert_str_eq(r.lines[0], "");
	smtp_reply_clear(&r);

	/* "250" without its line end may still become "250-...". */
	cr_assert_eq(parse("250", &r, &used, NULL), SMTP_REPLY_INCOMPLETE);
}

Test(smtp_reply, too_many_lines_are_refused)
{
	char buf[120 * 8 + 16];
	struct smtp_reply r;
	size_t used;

	buf[0] = '\0';
	for (int i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		strcat(buf, "250-ab\r\n");
	strcat(buf, "250 ab\r\n");
	cr_assert_eq(parse(buf, &r, &used, NULL), SMTP_REPLY_COMPLETE,
	    "exactly %d lines", SMTP_REPLY_LINES_MAX);
	cr_assert_eq(r.nlines, SMTP_REPLY_LINES_MAX);
	smtp_reply_clear(&r);

	buf[0] = '\0';
	for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		strcat(buf, "250-ab\r\n");
	strcat(buf, "250 ab\r\n");
	assert_invalid(buf, strlen(buf));
}

Test(smtp_reply, summary_joins_and_escapes)
{
	struct smtp_reply r;
	size_t used;
	char *s;

	cr_assert_eq(parse("550-5.1.1 <a@b>: no such user\r\n"
	    "550 5.1.1 see \x1b[31mhttp://x\r\n", &r, &used, NULL),
	    SMTP_REPLY_COMPLETE);
	s = smtp_reply_summary(&r);
	cr_assert_str_eq(s, "550 5.1.1 <a@b>: no such user / "
	    "5.1.1 see \\x1b[31mhttp://x");
	free(s);
	smtp_reply_clear(&r);

	cr_assert_eq(parse("250\r\n", &r, &used, NULL), SMTP_REPLY_COMPLETE);
	s = smtp_reply_summary(&r);
	cr_assert_str_eq(s, "250");
	free(s);
	smtp_reply_clear(&r);
}

/* Parses a complete EHLO reply into caps. */
static void
caps_of(const char *s, struct smtp_caps *caps)
{
	struct smtp_reply r;
	size_t used;

	cr_assert_eq(parse(s, &r, &used, NULL), SMTP_REPLY_COMPLETE);
	smtp_caps_parse(&r, caps);
	smtp_reply_clear(&r);
}

Test(smtp_reply, caps_of_postfix_ehlo)
{
	struct smtp_caps c;

	caps_of("250-mail.example.com\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n"
	    "250-VRFY\r\n"
	    "250-ETRN\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n"
	    "250-DSN\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 CHUNKING\r\n", &c);
	cr_assert(c.esmtp);
	cr_assert(c.pipelining);
	cr_assert(c.size);
	cr_assert_eq(c.size_max, 10240000);
	cr_assert(c.starttls);
	cr_assert(c.auth_plain);
	cr_assert(c.auth_login);
	cr_assert_not(c.auth_anonymous);
	cr_assert_str_eq(c.auth, "PLAIN LOGIN");
	cr_assert(c.eightbitmime);
	cr_assert(c.dsn);
	cr_assert(c.smtputf8);
	smtp_caps_clear(&c);
	cr_assert_null(c.auth);
}

Test(smtp_reply, caps_keywords_in_any_case)
{
	struct smtp_caps c;

	caps_of("250-mx\r\n250-starttls\r\n250-Size 1000000\r\n"
	    "250 auth anonymous Plain\r\n", &c);
	cr_assert(c.starttls);
	cr_assert_eq(c.size_max, 1000000);
	cr_assert(c.auth_anonymous);
	cr_assert(c.auth_plain);
	cr_assert_not(c.auth_login);
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_old_auth_equals_form)
{
	struct smtp_caps c;

	caps_of("250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 HELP\r\n", &c);
	cr_assert(c.auth_login);
	cr_assert(c.auth_plain);
	cr_assert_str_eq(c.auth, "LOGIN PLAIN");
	smtp_caps_clear(&c);

	/* Both forms: flags from both, the text from the standard line. */
	caps_of("250-mx\r\n250-AUTH=LOGIN\r\n250 AUTH PLAIN CRAM-MD5\r\n", &c);
	cr_assert(c.auth_login);
	cr_assert(c.auth_plain);
	cr_assert_str_eq(c.auth, "PLAIN CRAM-MD5");
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_greeting_line_is_not_a_capability)
{
	struct smtp_caps c;

	/* A server whose name is a keyword offers nothing by it. */
	caps_of("250 STARTTLS\r\n", &c);
	cr_assert(c.esmtp);
	cr_assert_not(c.starttls);
	smtp_caps_clear(&c);

	caps_of("250-PIPELINING says hello\r\n250 SIZE\r\n", &c);
	cr_assert_not(c.pipelining);
	cr_assert(c.size);
	cr_assert_eq(c.size_max, 0, "SIZE without a number: no limit");
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_of_bare_250)
{
	struct smtp_caps c;

	caps_of("250 \r\n", &c);
	cr_assert(c.esmtp);
	cr_assert_not(c.starttls);
	cr_assert_not(c.pipelining);
	cr_assert_not(c.size);
	cr_assert_null(c.auth);
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_need_whole_keywords)
{
	struct smtp_caps c;

	caps_of("250-mx\r\n250-STARTTLSX\r\n250-XDSN\r\n"
	    "250 AUTH PLAINER LOGINX\r\n", &c);
	cr_assert_not(c.starttls);
	cr_assert_not(c.dsn);
	cr_assert_not(c.auth_plain);
	cr_assert_not(c.auth_login);
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_of_refused_ehlo_are_empty)
{
	struct smtp_caps c;

	caps_of("502-Command not implemented\r\n502 STARTTLS\r\n", &c);
	cr_assert_not(c.esmtp);
	cr_assert_not(c.starttls);
	smtp_caps_clear(&c);
}

Test(smtp_reply, caps_size_beyond_unsigned_long_is_no_limit)
{
	struct smtp_caps c;

	caps_of("250-mx\r\n250 SIZE 99999999999999999999999999\r\n", &c);
	cr_assert(c.size);
	cr_assert_eq(c.size_max, 0);
	smtp_caps_clear(&c);
}
