/*
 * tests/test_message.c: core/message.c: built messages parsed back (headers,
 * MIME structure, attachments decoded byte for byte, encoded-words),
 * completing a given message, and the DATA form.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/message.h"
#include "core/text.h"

#define NOW	1700000000	/* Tue, 14 Nov 2023 22:13:20 UTC */

/* The header of msg (up to the empty line) and where its body starts. */
static char *
header_of(const char *msg, const char **body)
{
	const char *end = strstr(msg, "\r\n\r\n");

	cr_assert_not_null(end, "no empty line after the header");
	*body = end + 4;
	return strndup(msg, (size_t)(end - msg) + 2);
}

/* The unfolded value of header field name in hdr, or NULL. */
static char *
field(const char *hdr, const char *name)
{
	const char *p = hdr;
	size_t n = strlen(name);

	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");

		cr_assert_not_null(eol);
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			char *v = malloc(strlen(p) + 1), *o = v;

			p += n + 1;
			p += strspn(p, " ");
			for (;;) {
				eol = strstr(p, "\r\n");
				memcpy(o, p, (size_t)(eol - p));
				o += eol - p;
				p = eol + 2;
				if (*p != ' ' && *p != '\t')
					break;
			}
			*o = '\0';
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Every line of msg[0..len) ends with CRLF and is at most max octets. */
static void
assert_lines(const char *msg, size_t len, size_t max)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			cr_assert(i + 1 < len && msg[i + 1] == '\n',
			    "bare CR at %zu", i);
			cr_assert_leq(i - start, max, "line at %zu too long",
			    start);
			start = i + 2;
			i++;
		} else
			cr_assert_neq(msg[i], '\n', "bare LF at %zu", i);
	}
	cr_assert_eq(start, len, "the message does not end with CRLF");
}

/* Decodes MIME base64 lines (CRLF-separated) from s up to end. */
static unsigned char *
decode_lines(const char *s, const char *end, size_t *len)
{
	char *flat = malloc((size_t)(end - s) + 1), *o = flat;
	unsigned char *out;

	for (; s < end; s++) {
		if (*s != '\r' && *s != '\n')
			*o++ = *s;
	}
	*o = '\0';
	cr_assert_eq(base64_decode(flat, &out, len), 0, "bad base64: %s",
	    flat);
	free(flat);
	return out;
}

static const char *const one_to[] = { "bob@example.org" };

static struct message_params
params(void)
{
	struct message_params p = {
		.from = "alice@example.com",
		.to = one_to,
		.nto = 1,
		.subject = "Monthly report",
		.body = "Hello Bob,\nthe report.\n",
		.body_len = strlen("Hello Bob,\nthe report.\n"),
		.domain = "gw.example.com",
		.now = NOW,
	};

	return p;
}

Test(message, build_plain_text)
{
	struct message_params p = params();
	const char *body;
	char *msg, *hdr, *v;
	size_t len;

	msg = message_build(&p, &len);
	cr_assert_eq(len, strlen(msg));
	assert_lines(msg, len, 78);
	hdr = header_of(msg, &body);

	v = field(hdr, "Date");
	cr_assert_str_eq(v, "Tue, 14 Nov 2023 22:13:20 +0000");
	free(v);
	v = field(hdr, "From");
	cr_assert_str_eq(v, "alice@example.com");
	free(v);
	v = field(hdr, "To");
	cr_assert_str_eq(v, "bob@example.org");
	free(v);
	v = field(hdr, "Subject");
	cr_assert_str_eq(v, "Monthly report");
	free(v);
	v = field(hdr, "MIME-Version");
	cr_assert_str_eq(v, "1.0");
	free(v);
	v = field(hdr, "Content-Type");
	cr_assert_str_eq(v, "text/plain; charset=utf-8");
	free(v);
	v = field(hdr, "Content-Transfer-Encoding");
	cr_assert_str_eq(v, "7bit");
	free(v);
	v = field(hdr, "Message-ID");
	cr_assert_not_null(v);
	cr_assert_eq(v[0], '<');
	cr_assert(strlen(v) > 20);
	cr_assert_str_eq(v + strlen(v) - strlen("@gw.example.com>"),
	    "@gw.example.com>");
	free(v);

	cr_assert_str_eq(body, "Hello Bob,\r\nthe report.\r\n");
	free(hdr);
	free(msg);
}

Test(message, message_id_is_unique_and_readable_back)
{
	struct message_params p = params();
	char *a, *b, *ida, *idb, *hdr, *v;
	const char *body;
	size_t alen, blen;

	a = message_build(&p, &alen);
	b = message_build(&p, &blen);
	ida = message_id(a, alen);
	idb = message_id(b, blen);
	cr_assert_not_null(ida);
	cr_assert_not_null(idb);
	cr_assert_str_neq(ida, idb, "same time, same process, same id");
	hdr = header_of(a, &body);
	v = field(hdr, "Message-ID");
	cr_assert_str_eq(ida, v);
	free(v);
	free(hdr);
	free(ida);
	free(idb);
	free(a);
	free(b);
}

Test(message, empty_body_and_no_subject)
{
	struct message_params p = params();
	const char *body;
	char *msg, *hdr, *v;
	size_t len;

	p.body = NULL;
	p.subject = NULL;
	msg = message_build(&p, &len);
	assert_lines(msg, len, 78);
	hdr = header_of(msg, &body);
	cr_assert_str_eq(body, "");
	v = field(hdr, "Subject");
	cr_assert_null(v);
	free(hdr);
	free(msg);
}

Test(message, long_line_body_goes_base64)
{
	struct message_params p = params();
	char line[1200], *msg, *hdr, *v;
	const char *body;
	unsigned char *dec;
	size_t len, dlen;

	memset(line, 'a', sizeof line);
	p.body = line;
	p.body_len = sizeof line;
	msg = message_build(&p, &len);
	assert_lines(msg, len, 78);
	hdr = header_of(msg, &body);
	v = field(hdr, "Content-Transfer-Encoding");
	cr_assert_str_eq(v, "base64");
	free(v);
	dec = decode_lines(body, msg + len, &dlen);
	cr_assert_eq(dlen, sizeof line);
	cr_assert_arr_eq(dec, line, sizeof line);
	free(dec);
	free(hdr);
	free(msg);

	/* 998 octets is still a text line. */
	p.body_len = 998;
	msg = message_build(&p, &len);
	hdr = header_of(msg, &body);
	v = field(hdr, "Content-Transfer-Encoding");
	cr_assert_str_eq(v, "7bit");
	free(v);
	cr_assert_eq(strlen(body), 1000);
	free(hdr);
	free(msg);
}

Test(message, utf8_body_goes_base64)
{
	struct message_params p = params();
	const char *text = "Gr\xc3\xbc\xc3\x9f" "e\n";
	char *msg, *hdr, *v;
	const char *body;
	unsigned char *dec;
	size_t len, dlen;

	p.body = text;
	p.body_len = strlen(text);
	msg = message_build(&p, &len);
	hdr = header_of(msg, &body);
	v = field(hdr, "Content-Transfer-Encoding");
	cr_assert_str_eq(v, "base64");
	free(v);
	dec = decode_lines(body, msg + len, &dlen);
	cr_assert_eq(dlen, strlen(text));
	cr_assert_arr_eq(dec, text, dlen);
	free(dec);
	free(hdr);
	free(msg);
}

/* Splits a multipart body at "--boundary" lines; returns the part count. */
static size_t
split_parts(const char *body, const char *end, const char *boundary,
    const char **starts, const char **ends, size_t max)
{
	char delim[128], close[128];
	const char *p = body;
	size_t n = 0;
	bool closed = false;

	snprintf(delim, sizeof delim, "--%s\r\n", boundary);
	snprintf(close, sizeof close, "--%s--\r\n", boundary);
	cr_assert_eq(strncmp(p, delim, strlen(delim)), 0,
	    "body does not start with the first delimiter");
	p += strlen(delim);
	while (p < end && !closed) {
		const char *q = p, *next = NULL;

		/* The CRLF before a delimiter belongs to it. */
		for (; q < end; q++) {
			if (strncmp(q, "\r\n", 2) != 0)
				continue;
			if (strncmp(q + 2, delim, strlen(delim)) == 0) {
				next = q + 2 + strlen(delim);
				break;
			}
			if (strncmp(q + 2, close, strlen(close)) == 0) {
				next = q + 2 + strlen(close);
				closed = true;
				break;
			}
		}
		cr_assert_not_null(next, "part %zu not closed", n);
		cr_assert_lt(n, max);
		starts[n] = p;
		ends[n] = q;
		n++;
		p = next;
	}
	cr_assert(closed, "no close delimiter");
	cr_assert_eq(p, end, "bytes after the close delimiter");
	return n;
}

Test(message, build_with_attachments)
{
	struct message_params p = params();
	static unsigned char bin[3000];
	struct message_attachment att[3] = {
		{ "report.csv", (const unsigned char *)"a,b\n1,2\n", 8 },
		{ "data \"v2\".bin", bin, sizeof bin },
		{ "empty", (const unsigned char *)"", 0 },
	};
	const char *starts[8], *ends[8], *body;
	char *msg, *hdr, *v, *ct, boundary[100];
	size_t len, n;

	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 31 + i / 256);
	p.attachments = att;
	p.nattachments = 3;
	msg = message_build(&p, &len);
	cr_assert_eq(len, strlen(msg));
	assert_lines(msg, len, 78);
	hdr = header_of(msg, &body);
	v = field(hdr, "MIME-Version");
	cr_assert_str_eq(v, "1.0");
	free(v);
	ct = field(hdr, "Content-Type");
	cr_assert_eq(strncmp(ct, "multipart/mixed; boundary=\"", 27), 0, "%s",
	    ct);
	cr_assert_lt(strlen(ct + 27), sizeof boundary);
	strcpy(boundary, ct + 27);
	cr_assert_eq(boundary[strlen(boundary) - 1], '"');
	boundary[strlen(boundary) - 1] = '\0';
	cr_assert_gt(strlen(boundary), 10);
	free(ct);

	n = split_parts(body, msg + len, boundary, starts, ends, 8);
	cr_assert_eq(n, 4, "the text and 3 attachments");

	/* The text part. */
	{
		char *ph = strndup(starts[0], (size_t)(ends[0] - starts[0]));
		const char *pb;
		char *h = header_of(ph, &pb);

		v = field(h, "Content-Type");
		cr_assert_str_eq(v, "text/plain; charset=utf-8");
		free(v);
		cr_assert_str_eq(pb, "Hello Bob,\r\nthe report.\r\n");
		free(h);
		free(ph);
	}
	for (size_t i = 0; i < 3; i++) {
		char *ph = strndup(starts[i + 1],
		    (size_t)(ends[i + 1] - starts[i + 1]));
		const char *pb;
		char *h = header_of(ph, &pb);
		unsigned char *dec;
		size_t dlen;

		v = field(h, "Content-Type");
		cr_assert_eq(strncmp(v, "application/octet-stream", 24), 0);
		free(v);
		v = field(h, "Content-Transfer-Encoding");
		cr_assert_str_eq(v, "base64");
		free(v);
		dec = decode_lines(pb, pb + strlen(pb), &dlen);
		cr_assert_eq(dlen, att[i].len, "attachment %zu", i);
		cr_assert_arr_eq(dec, att[i].data, dlen);
		free(dec);
		v = field(h, "Content-Disposition");
		if (i == 0)
			cr_assert_str_eq(v, "attachment; filename=\"report.csv\"");
		else if (i == 1)
			cr_assert_str_eq(v,
			    "attachment; filename=\"data \\\"v2\\\".bin\"");
		free(v);
		free(h);
		free(ph);
	}
	free(hdr);
	free(msg);
}

Test(message, non_ascii_file_name_uses_rfc2231)
{
	struct message_params p = params();
	struct message_attachment att = {
		"\xc3\xa9t\xc3\xa9 2024.pdf", (const unsigned char *)"x", 1
	};
	char *msg;
	size_t len;

	p.attachments = &att;
	p.nattachments = 1;
	msg = message_build(&p, &len);
	cr_assert_not_null(strstr(msg, "Content-Disposition: attachment;\r\n"
	    " filename*=utf-8''%C3%A9t%C3%A9%202024.pdf\r\n"), "%s", msg);
	free(msg);

	/* A line end in a file name cannot start a header field. */
	att.name = "a\r\nBcc: x";
	msg = message_build(&p, &len);
	cr_assert_null(strstr(msg, "\r\nBcc:"));
	cr_assert_not_null(strstr(msg, "filename*=utf-8''a%0D%0ABcc%3A%20x"));
	free(msg);
}

Test(message, boundary_never_appears_in_the_parts)
{
	struct message_params p = params();
	struct message_attachment att = { "f", (const unsigned char *)"\0", 1 };
	const char *body;
	char *msg, *hdr, *ct, *b, *where;
	size_t len;

	p.attachments = &att;
	p.nattachments = 1;
	msg = message_build(&p, &len);
	hdr = header_of(msg, &body);
	ct = field(hdr, "Content-Type");
	b = strchr(ct, '"') + 1;
	*strchr(b, '"') = '\0';
	/* Exactly: the opening, one between, and the close. */
	where = strstr(body, b);
	cr_assert_not_null(where);
	cr_assert_eq(where, body + 2);
	where = strstr(where + 1, b);
	cr_assert_not_null(where);
	where = strstr(where + 1, b);
	cr_assert_not_null(where);
	cr_assert_str_eq(where + strlen(b), "--\r\n");
	cr_assert_null(strstr(where + 1, b));
	free(ct);
	free(hdr);
	free(msg);
}

/* Decodes an encoded Subject; checks the RFC 2047 limits on the way. */
static char *
decode_subject(const char *msg)
{
	const char *p = strstr(msg, "\r\nSubject: ");
	char *out = calloc(1, 4096);
	size_t olen = 0;

	cr_assert_not_null(p);
	p += 2;
	for (;;) {
		const char *eol = strstr(p, "\r\n");
		const char *w = p + (strncmp(p, "Subject: ", 9) == 0 ? 9 : 1);
		char *word;
		unsigned char *dec;
		size_t dlen;

		cr_assert_leq(eol - p, 76, "line of an encoded-word too long");
		cr_assert_leq(eol - w, 75, "encoded-word too long");
		cr_assert_eq(strncmp(w, "=?utf-8?B?", 10), 0, "%.*s",
		    (int)(eol - w), w);
		cr_assert_eq(strncmp(eol - 2, "?=", 2), 0);
		word = strndup(w + 10, (size_t)(eol - 2 - (w + 10)));
		cr_assert_eq(base64_decode(word, &dec, &dlen), 0);
		cr_assert(text_utf8_valid((char *)dec, dlen),
		    "a word splits a character");
		memcpy(out + olen, dec, dlen);
		olen += dlen;
		free(dec);
		free(word);
		p = eol + 2;
		if (*p != ' ')
			break;
	}
	return out;
}

Test(message, non_ascii_subject_as_encoded_words)
{
	struct message_params p = params();
	char subject[1024] = "Rapport mensuel ";
	char *msg, *dec;
	size_t len;

	for (int i = 0; i < 30; i++)
		strcat(subject, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xf0\x9f\x93\x8e ");
	p.subject = subject;
	msg = message_build(&p, &len);
	assert_lines(msg, len, 998);
	dec = decode_subject(msg);
	cr_assert_str_eq(dec, subject);
	free(dec);
	free(msg);

	p.subject = "\xc3\xa9";
	msg = message_build(&p, &len);
	cr_assert_not_null(strstr(msg, "\r\nSubject: =?utf-8?B?w6k=?=\r\n"));
	free(msg);
}

Test(message, subject_with_line_break_cannot_inject)
{
	struct message_params p = params();
	char *msg, *dec;
	size_t len;

	p.subject = "hi\r\nBcc: victim@example.net";
	msg = message_build(&p, &len);
	cr_assert_null(strstr(msg, "\r\nBcc:"));
	dec = decode_subject(msg);
	cr_assert_str_eq(dec, p.subject);
	free(dec);
	free(msg);

	/* Text that looks like an encoded-word is encoded, not trusted. */
	p.subject = "=?utf-8?B?w6k=?=";
	msg = message_build(&p, &len);
	dec = decode_subject(msg);
	cr_assert_str_eq(dec, p.subject);
	free(dec);
	free(msg);
}

Test(message, many_recipients_are_folded)
{
	struct message_params p = params();
	const char *to[12];
	char names[12][32], *msg, *hdr, *v;
	const char *body;
	size_t len;

	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof names[i], "user%02d@example.org", i);
		to[i] = names[i];
	}
	p.to = to;
	p.nto = 12;
	msg = message_build(&p, &len);
	assert_lines(msg, len, 78);
	hdr = header_of(msg, &body);
	v = field(hdr, "To");
	for (int i = 0; i < 12; i++)
		cr_assert_not_null(strstr(v, names[i]));
	cr_assert_not_null(strstr(v, "user00@example.org, user01@example.org,"));
	free(v);
	free(hdr);
	free(msg);
}

/* message_complete() on s; asserts success. */
static char *
complete(const char *s, size_t *len)
{
	char *out = NULL, *cause = NULL;

	cr_assert_eq(message_complete(s, strlen(s), "gw.example.com", NOW,
	    &out, len, &cause), 0, "%s", cause ? cause : "");
	cr_assert_eq(*len, strlen(out));
	return out;
}

Test(message, complete_keeps_a_full_message_byte_for_byte)
{
	const char *m = "Date: Mon, 1 Jan 2024 00:00:00 +0100\r\n"
	    "message-id: <x@y>\r\n"
	    "From: a@b\r\n"
	    "Subject:  odd   spacing\t\r\n"
	    "\r\n"
	    ".body line\n"
	    "Date: not a header\r\n";
	char *out;
	size_t len;

	out = complete(m, &len);
	cr_assert_str_eq(out, m);
	free(out);
}

Test(message, complete_adds_what_is_missing_at_the_top)
{
	const char *m = "From: a@b\r\nTo: c@d\r\n\r\nDate: in the body\r\n"
	    "Message-ID: <in@body>\r\n";
	const char *date;
	char *out, *id;
	size_t len;

	out = complete(m, &len);
	cr_assert_eq(strncmp(out, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "Message-ID: <", 52), 0, "%s", out);
	cr_assert_str_eq(out + len - strlen(m), m, "the rest changed");
	id = message_id(out, len);
	cr_assert_not_null(id);
	cr_assert_str_neq(id, "<in@body>");
	cr_assert_not_null(strstr(id, "@gw.example.com>"));
	free(id);
	free(out);

	/* Only Date missing; field names in any case, space before ':'. */
	m = "MESSAGE-ID : <k@l>\nFrom: a@b\n\nhi\n";
	out = complete(m, &len);
	date = "Date: Tue, 14 Nov 2023 22:13:20 +0000\n";
	cr_assert_eq(len, strlen(date) + strlen(m));
	cr_assert_eq(strncmp(out, date, strlen(date)), 0,
	    "LF message gets an LF line: %s", out);
	cr_assert_str_eq(out + strlen(date), m);
	free(out);

	/* Only Message-ID missing; a header without a body. */
	m = "date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@b\r\n";
	out = complete(m, &len);
	cr_assert_eq(strncmp(out, "Message-ID: <", 13), 0);
	cr_assert_str_eq(strstr(out, "\r\n") + 2, m);
	free(out);
}

Test(message, complete_refuses_a_message_without_header)
{
	static const char *const bad[] = {
		"",
		"Hello Bob,\r\nthe report.\r\n",
		"\r\nFrom: a@b\r\n",
		"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\n",
		": no name\r\n",
		"Sub ject: x\r\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = NULL, *cause = NULL;
		size_t len = 0;

		cr_assert_eq(message_complete(bad[i], strlen(bad[i]), "d", NOW,
		    &out, &len, &cause), -1, "accepted \"%s\"", bad[i]);
		cr_assert_null(out);
		cr_assert_not_null(cause);
		cr_assert_not_null(strstr(cause, "header"));
		free(cause);
	}
}

Test(message, message_id_unfolds_and_finds_none)
{
	const char *m = "From: a@b\r\nMessage-Id:\r\n <folded@x>\r\nTo: c\r\n\r\n";
	char *id;

	id = message_id(m, strlen(m));
	cr_assert_str_eq(id, "<folded@x>");
	free(id);

	m = "From: a@b\r\n\r\nMessage-ID: <body@x>\r\n";
	cr_assert_null(message_id(m, strlen(m)));
}

/* message_smtp_data() on s; asserts success. */
static char *
data_of(const char *s, size_t *len)
{
	char *out = NULL, *cause = NULL;

	cr_assert_eq(message_smtp_data(s, strlen(s), &out, len, &cause), 0,
	    "%s", cause ? cause : "");
	return out;
}

static void
assert_data(const char *in, const char *want)
{
	char *out;
	size_t len;

	out = data_of(in, &len);
	cr_assert_eq(len, strlen(want), "for \"%s\": \"%s\"", in, out);
	cr_assert_arr_eq(out, want, len);
	free(out);
}

Test(message, smtp_data_dot_stuffing)
{
	assert_data("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	assert_data(".\r\n", "..\r\n.\r\n");
	assert_data("..\r\n", "...\r\n.\r\n");
	assert_data(".hidden\r\n..two\r\nmid.dle.\r\n",
	    "..hidden\r\n...two\r\nmid.dle.\r\n.\r\n");
	assert_data("x\r\n.", "x\r\n..\r\n.\r\n");
}

Test(message, smtp_data_line_ends)
{
	assert_data("a\nb\n", "a\r\nb\r\n.\r\n");
	assert_data("a\rb\r", "a\r\nb\r\n.\r\n");
	assert_data("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
	assert_data("a\n\n.\n", "a\r\n\r\n..\r\n.\r\n");
	assert_data("no end", "no end\r\n.\r\n");
	assert_data("", ".\r\n");
}

Test(message, smtp_data_line_limit)
{
	char in[2100], *out = NULL, *cause = NULL;
	size_t len;

	memset(in, 'x', sizeof in);
	memcpy(in, "ok\n", 3);
	/* Line 2: 998 octets, then a line end. */
	in[3 + 998] = '\n';
	in[3 + 998 + 1] = '\0';
	out = data_of(in, &len);
	cr_assert_eq(len, 4 + 998 + 2 + 3);
	free(out);
	out = NULL;

	/* 999 octets, with or without a line end after. */
	in[3 + 998] = 'x';
	in[3 + 999] = '\n';
	in[3 + 1000] = '\0';
	cr_assert_eq(message_smtp_data(in, strlen(in), &out, &len, &cause), -1);
	cr_assert_str_eq(cause, "line 2 is longer than 998 octets");
	cr_assert_null(out);
	free(cause);
	cause = NULL;
	cr_assert_eq(message_smtp_data(in, 3 + 999, &out, &len, &cause), -1);
	cr_assert_str_eq(cause, "line 2 is longer than 998 octets");
	free(cause);
}
