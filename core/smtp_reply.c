/*
 * core/smtp_reply.c: finds one SMTP reply (RFC 5321 4.2) at the start of a
 * buffer, and reads the capabilities an EHLO reply lists (RFC 5321 4.1.1.1
 * and the extensions' RFCs).
 *
 * It reads bytes; it never reads a socket, and it does not judge what a
 * reply means to the session (that is the engine's state machine).  A line
 * is judged as soon as its first bytes arrive, so a peer that is not an
 * SMTP server is refused without waiting for a line end that may never come.
 */
#include "core/smtp_reply.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/text.h"
#include "core/xmalloc.h"

/* How much of a bad line a message quotes. */
#define QUOTE_MAX	40

/* Where one line's text lies in the buffer. */
struct span {
	size_t	 off;
	size_t	 len;
};

/* The start of p[0..n), escaped and quoted for a message.  Caller frees. */
static char *
quote(const char *p, size_t n)
{
	char *raw, *esc, *q;

	raw = xstrndup(p, n < QUOTE_MAX ? n : QUOTE_MAX);
	esc = text_escape(raw);
	q = xasprintf("\"%s\"%s", esc, n > QUOTE_MAX ? "..." : "");
	free(esc);
	free(raw);
	return q;
}

static void
set_cause(char **cause, size_t lineno, const char *why, const char *p,
    size_t n)
{
	char *q;

	if (cause == NULL)
		return;
	q = quote(p, n);
	*cause = xasprintf("reply line %zu %s: %s", lineno, why, q);
	free(q);
}

/*
 * Checks the code and separator of a line, of which n bytes are known;
 * complete says whether n is the whole text.  Returns the code, 0 if more
 * bytes are needed to tell, or -1 with *cause.  *last is set when the
 * separator is known.
 */
static int
check_head(const char *p, size_t n, bool complete, size_t lineno,
    int first, bool *last, char **cause)
{
	int code = 0;

	for (size_t i = 0; i < 3 && i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!isdigit(c) || (i == 0 && (c < '2' || c > '5'))) {
			set_cause(cause, lineno, "does not start with a "
			    "code from 200 to 599", p, n);
			return -1;
		}
		code = code * 10 + (c - '0');
	}
	if (n < 3) {
		if (!complete)
			return 0;
		set_cause(cause, lineno, "is too short", p, n);
		return -1;
	}
	if (first != 0 && code != first) {
		if (cause != NULL)
			*cause = xasprintf("reply line %zu has code %d, "
			    "line 1 had %d", lineno, code, first);
		return -1;
	}
	if (n == 3) {
		if (!complete)
			return 0;
		*last = true;	/* a bare "250": text is empty */
		return code;
	}
	if (p[3] != ' ' && p[3] != '-') {
		set_cause(cause, lineno, "has no ' ' or '-' after its code",
		    p, n);
		return -1;
	}
	*last = p[3] == ' ';
	return code;
}

int
smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *out,
    size_t *consumed, char **cause)
{
	struct span spans[SMTP_REPLY_LINES_MAX];
	size_t pos = 0, n = 0;
	int code = 0;
	bool last = false;

	memset(out, 0, sizeof *out);
	while (!last) {
		size_t rem = len - pos, lim, linelen, textlen;
		const char *p = buf + pos, *lf;
		int c;

		lim = rem < SMTP_REPLY_LINE_MAX ? rem : SMTP_REPLY_LINE_MAX;
		if ((lf = memchr(p, '\n', lim)) == NULL) {
			if (rem >= SMTP_REPLY_LINE_MAX) {
				if (cause != NULL)
					*cause = xasprintf("reply line %zu is "
					    "longer than %d octets", n + 1,
					    SMTP_REPLY_LINE_MAX);
				return SMTP_REPLY_INVALID;
			}
			/* Refuse a bad start now rather than at a line end. */
			if (check_head(p, rem, false, n + 1, code, &last,
			    cause) == -1)
				return SMTP_REPLY_INVALID;
			return SMTP_REPLY_INCOMPLETE;
		}
		linelen = (size_t)(lf - p) + 1;
		textlen = linelen - 1;
		if (textlen > 0 && p[textlen - 1] == '\r')
			textlen--;
		if (memchr(p, '\0', textlen) != NULL) {
			if (cause != NULL)
				*cause = xasprintf("reply line %zu holds a NUL "
				    "byte", n + 1);
			return SMTP_REPLY_INVALID;
		}
		if ((c = check_head(p, textlen, true, n + 1, code, &last,
		    cause)) == -1)
			return SMTP_REPLY_INVALID;
		code = c;
		if (!last && n + 1 == SMTP_REPLY_LINES_MAX) {
			if (cause != NULL)
				*cause = xasprintf("reply has more than %d "
				    "lines", SMTP_REPLY_LINES_MAX);
			return SMTP_REPLY_INVALID;
		}
		spans[n].off = pos + (textlen > 3 ? 4 : 3);
		spans[n].len = textlen > 3 ? textlen - 4 : 0;
		n++;
		pos += linelen;
	}

	out->code = code;
	out->nlines = n;
	out->lines = xreallocarray(NULL, n, sizeof *out->lines);
	for (size_t i = 0; i < n; i++)
		out->lines[i] = xstrndup(buf + spans[i].off, spans[i].len);
	*consumed = pos;
	return SMTP_REPLY_COMPLETE;
}

void
smtp_reply_clear(struct smtp_reply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	memset(r, 0, sizeof *r);
}

/* Length of the RFC 3463 status code ("5.7.8") at s, or 0 if none. */
static size_t
enhanced_status_len(const char *s)
{
	size_t i = 0;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	i = 1;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;

		if (s[i++] != '.')
			return 0;
		while (isdigit((unsigned char)s[i]) && digits < 4) {
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return 0;
	}
	return s[i] == '\0' || s[i] == ' ' ? i : 0;
}

char *
smtp_reply_status(const struct smtp_reply *r)
{
	size_t n = r->nlines > 0 ? enhanced_status_len(r->lines[0]) : 0;

	return xasprintf("%d%s%.*s (reply text not shown)", r->code,
	    n > 0 ? " " : "", (int)n, n > 0 ? r->lines[0] : "");
}

char *
smtp_reply_summary(const struct smtp_reply *r)
{
	char *text = xstrdup(""), *esc, *s;

	for (size_t i = 0; i < r->nlines; i++) {
		esc = text_escape(r->lines[i]);
		s = xasprintf("%s%s%s", text, i == 0 ? "" : " / ", esc);
		free(esc);
		free(text);
		text = s;
	}
	if (*text == '\0')
		s = xasprintf("%d", r->code);
	else
		s = xasprintf("%d %s", r->code, text);
	free(text);
	return s;
}

/* Sets the mechanism flags from a space-separated list. */
static void
caps_auth(struct smtp_caps *c, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == 5 && strncasecmp(p, "PLAIN", n) == 0)
			c->auth_plain = true;
		else if (n == 5 && strncasecmp(p, "LOGIN", n) == 0)
			c->auth_login = true;
		else if (n == 9 && strncasecmp(p, "ANONYMOUS", n) == 0)
			c->auth_anonymous = true;
		p += n;
	}
}

/* Whether the keyword line[0..kw) is word, in any case. */
static bool
keyword_is(const char *line, size_t kw, const char *word)
{
	return kw == strlen(word) && strncasecmp(line, word, kw) == 0;
}

/* A copy of s without white space at either end. */
static char *
trimmed(const char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

/* SIZE's parameter: 0 when absent, not a number, or beyond unsigned long. */
static unsigned long
caps_size(const char *s)
{
	unsigned long v = 0;

	s += strspn(s, " \t");
	if (!isdigit((unsigned char)*s))
		return 0;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (ULONG_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

void
smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *out)
{
	bool auth_standard = false;

	memset(out, 0, sizeof *out);
	if (ehlo->code / 100 != 2)
		return;
	out->esmtp = true;

	/* Line 1 is the server's name and greeting, not a capability. */
	for (size_t i = 1; i < ehlo->nlines; i++) {
		const char *line = ehlo->lines[i], *args;
		size_t kw;

		line += strspn(line, " \t");
		kw = strcspn(line, " \t=");
		args = line + kw;

		if (keyword_is(line, kw, "STARTTLS"))
			out->starttls = true;
		else if (keyword_is(line, kw, "PIPELINING"))
			out->pipelining = true;
		else if (keyword_is(line, kw, "8BITMIME"))
			out->eightbitmime = true;
		else if (keyword_is(line, kw, "SMTPUTF8"))
			out->smtputf8 = true;
		else if (keyword_is(line, kw, "DSN"))
			out->dsn = true;
		else if (keyword_is(line, kw, "SIZE")) {
			out->size = true;
			out->size_max = caps_size(args);
		} else if (keyword_is(line, kw, "AUTH")) {
			/*
			 * "AUTH=LOGIN PLAIN" is what pre-RFC 2554 servers
			 * sent, often beside the standard line: flags from
			 * both, the text from the standard one if present.
			 */
			bool standard = *args != '=';

			if (!standard)
				args++;
			caps_auth(out, args);
			if (out->auth == NULL || (standard && !auth_standard)) {
				free(out->auth);
				out->auth = trimmed(args);
				auth_standard = standard;
			}
		}
	}
}

void
smtp_caps_clear(struct smtp_caps *c)
{
	if (c == NULL)
		return;
	free(c->auth);
	memset(c, 0, sizeof *c);
}
