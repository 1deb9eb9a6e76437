/*
 * core/message.c: the message text the engine sends.  Builds a MIME message
 * from the send options, completes a ready-made one with Date and
 * Message-ID, and turns either into the bytes that follow DATA.
 *
 * Pure text work: no files, no sockets.  It does not validate addresses
 * (the profile and the command line do), and it never rewrites a given
 * message beyond the two header fields it may add: what the user wrote is
 * what the server receives.
 */
#include "core/message.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/xmalloc.h"

/* RFC 2047 2: an encoded-word is at most 75 characters ... */
#define WORD_MAX	75
/* ... and a header line holding one at most 76. */
#define WORD_LINE_MAX	76
/* "=?utf-8?B?" and "?=" */
#define WORD_OVERHEAD	12
/* Where an address list is folded (RFC 5322 2.1.1's SHOULD). */
#define FOLD_AT		78

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_str(b, s);
	free(s);
}

/*
 * n random bytes from getrandom(2).  If the kernel has none to give (early
 * boot, old kernel), a clock-and-pid mix: good enough, since Message-IDs
 * also hold time, pid and a counter, and boundaries are checked against the
 * content they enclose.
 */
static void
random_bytes(unsigned char *p, size_t n)
{
	static uint64_t state;
	struct timespec ts;
	ssize_t got;

	do
		got = getrandom(p, n, GRND_NONBLOCK);
	while (got == -1 && errno == EINTR);
	if (got == (ssize_t)n)
		return;

	clock_gettime(CLOCK_REALTIME, &ts);
	state ^= (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^
	    (uint64_t)getpid() << 16 ^ 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		p[i] = (unsigned char)(state >> 24);
	}
}

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char r[32];

	if (nbytes > sizeof r)
		nbytes = sizeof r;
	random_bytes(r, nbytes);
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + i * 2, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof r);
}

/* RFC 5322 3.3 date-time, in UTC; day and month names are not localised. */
static char *
format_date(time_t now)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL) {
		now = 0;
		gmtime_r(&now, &tm);
	}
	return xasprintf("%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Whether domain can follow the '@' of a Message-ID unquoted. */
static bool
domain_ok(const char *domain)
{
	if (domain == NULL || *domain == '\0')
		return false;
	for (const char *p = domain; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && strchr("-._[]:", c) == NULL)
			return false;
	}
	return true;
}

/*
 * "<time.pid.counter.random@domain>", the numbers in hex: unique without
 * shared state, and short enough to keep the line within 78 columns.
 */
static char *
make_message_id(time_t now, const char *domain)
{
	static unsigned long counter;
	char hex[17];

	random_hex(hex, 8);
	return xasprintf("<%llx.%lx.%lx.%s@%s>", (unsigned long long)now,
	    (unsigned long)getpid(), ++counter, hex,
	    domain_ok(domain) ? domain : "localhost");
}

/* Copies s, control characters as spaces: no value can start a new line. */
static void
add_header_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		char c = *s;

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		buf_add(b, &c, 1);
	}
}

/* Length of the UTF-8 character at p (1 for a stray byte). */
static size_t
char_len(const unsigned char *p, size_t rem)
{
	size_t n = 1;

	if (p[0] >= 0xc0 && p[0] < 0xe0)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] < 0xf0)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] < 0xf8)
		n = 4;
	if (n > rem)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	}
	return n;
}

/* Whether a Subject can go as it is: printable ASCII, no "=?", one line. */
static bool
subject_plain(const char *s)
{
	if (strlen(s) > MESSAGE_LINE_MAX - strlen("Subject: "))
		return false;
	if (strstr(s, "=?") != NULL)
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/*
 * Subject as RFC 2047 B encoded-words, each holding whole characters, so
 * each decodes to valid UTF-8 on its own (RFC 2047 5.3), one per line.
 */
static void
add_subject(struct buf *b, const char *subject)
{
	const unsigned char *s = (const unsigned char *)subject;
	size_t len = strlen(subject), i = 0, col = strlen("Subject: ");

	buf_str(b, "Subject: ");
	if (subject_plain(subject)) {
		buf_str(b, subject);
		buf_str(b, "\r\n");
		return;
	}
	while (i < len) {
		size_t word = WORD_LINE_MAX - col, max, n = 0, c;
		char *enc;

		if (word > WORD_MAX)
			word = WORD_MAX;
		/* Bytes that encode within the word: 4 characters per 3. */
		max = (word - WORD_OVERHEAD) / 4 * 3;
		while (i + n < len &&
		    n + (c = char_len(s + i + n, len - i - n)) <= max)
			n += c;
		enc = base64_encode(s + i, n);
		if (i > 0)
			buf_str(b, "\r\n ");
		buf_printf(b, "=?utf-8?B?%s?=", enc);
		free(enc);
		i += n;
		col = 1;
	}
	buf_str(b, "\r\n");
}

/* "To: a, b" folded before FOLD_AT columns where it can be. */
static void
add_to(struct buf *b, const char *const *to, size_t nto)
{
	size_t col = strlen("To: ");

	buf_str(b, "To: ");
	for (size_t i = 0; i < nto; i++) {
		size_t n = strlen(to[i]);

		if (i > 0) {
			if (col + 2 + n > FOLD_AT) {
				buf_str(b, ",\r\n ");
				col = 1;
			} else {
				buf_str(b, ", ");
				col += 2;
			}
		}
		add_header_text(b, to[i]);
		col += n;
	}
	buf_str(b, "\r\n");
}

/*
 * A MIME parameter: attr="value" for printable ASCII, else RFC 2231's
 * attr*=utf-8''percent-encoded (control characters included, so no file
 * name can break the header).
 */
static void
add_param(struct buf *b, const char *attr, const char *value)
{
	const unsigned char *p;
	bool plain = true;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			plain = false;
	}
	if (plain) {
		buf_printf(b, "%s=\"", attr);
		for (p = (const unsigned char *)value; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_str(b, "\\");
			buf_add(b, p, 1);
		}
		buf_str(b, "\"");
		return;
	}
	buf_printf(b, "%s*=utf-8''", attr);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		/* RFC 2231 attribute-char, as RFC 5987 lists it. */
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p) != NULL)
			buf_add(b, p, 1);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

/*
 * Calls f for each line of s[0..len): its start and its length without
 * the line end (CRLF, LF or a bare CR).  Stops and returns -1 if f does.
 */
static int
each_line(const char *s, size_t len,
    int (*f)(const char *, size_t, void *), void *arg)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, end;

		while (i < len && s[i] != '\r' && s[i] != '\n')
			i++;
		end = i;
		if (i < len) {
			if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
				i++;
			i++;
		}
		if (f(s + start, end - start, arg) == -1)
			return -1;
	}
	return 0;
}

static int
line_7bit(const char *s, size_t n, void *arg)
{
	if (n > MESSAGE_LINE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || (unsigned char)s[i] > 0x7f)
			return -1;
	}
	return 0;
}

static int
line_crlf(const char *s, size_t n, void *arg)
{
	struct buf *b = arg;

	buf_add(b, s, n);
	buf_str(b, "\r\n");
	return 0;
}

/* Whether body can go as 7bit (RFC 2045 2.7): ASCII, no NUL, short lines. */
static bool
body_7bit(const char *body, size_t len)
{
	return each_line(body, len, line_7bit, NULL) == 0;
}

/*
 * The text part: its Content-Type and -Transfer-Encoding, the body, and
 * when boundary is given the delimiter that ends it.
 */
static void
add_body(struct buf *b, const char *body, size_t len, const char *boundary)
{
	buf_str(b, "Content-Type: text/plain; charset=utf-8\r\n");
	if (body_7bit(body, len)) {
		buf_str(b, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		/* Every line ended by CRLF, the last one too. */
		each_line(body, len, line_crlf, b);
		/*
		 * The CRLF before a delimiter belongs to it (RFC 2046 5.1.1),
		 * so the text keeps its last line end.
		 */
		if (boundary != NULL)
			buf_printf(b, "\r\n--%s\r\n", boundary);
	} else {
		char *enc = base64_encode_mime(body, len, NULL);

		/* Not empty (empty is 7bit), so enc ends with CRLF. */
		buf_str(b, "Content-Transfer-Encoding: base64\r\n\r\n");
		buf_str(b, enc);
		free(enc);
		if (boundary != NULL)
			buf_printf(b, "--%s\r\n", boundary);
	}
}

static void
add_attachment(struct buf *b, const struct message_attachment *a,
    const char *boundary)
{
	size_t enclen;
	char *enc;

	buf_str(b, "Content-Type: application/octet-stream");
	if (a->name != NULL && *a->name != '\0') {
		buf_str(b, ";\r\n ");
		add_param(b, "name", a->name);
	}
	buf_str(b, "\r\nContent-Disposition: attachment");
	if (a->name != NULL && *a->name != '\0') {
		buf_str(b, ";\r\n ");
		add_param(b, "filename", a->name);
	}
	buf_str(b, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	enc = base64_encode_mime(a->data, a->len, &enclen);
	buf_add(b, enc, enclen);
	free(enc);
	/* The base64 lines end in CRLF, which the delimiter takes as its own. */
	if (enclen == 0)
		buf_str(b, "\r\n");
	buf_printf(b, "--%s", boundary);
}

char *
message_build(const struct message_params *p, size_t *len)
{
	struct buf b = { 0 };
	const char *body = p->body != NULL ? p->body : "";
	size_t body_len = p->body != NULL ? p->body_len : 0;
	char boundary[64], *s;

	s = format_date(p->now);
	buf_printf(&b, "Date: %s\r\n", s);
	free(s);
	buf_str(&b, "From: ");
	add_header_text(&b, p->from);
	buf_str(&b, "\r\n");
	if (p->nto > 0)
		add_to(&b, p->to, p->nto);
	if (p->subject != NULL)
		add_subject(&b, p->subject);
	s = make_message_id(p->now, p->domain);
	buf_printf(&b, "Message-ID: %s\r\n", s);
	free(s);
	buf_str(&b, "MIME-Version: 1.0\r\n");

	if (p->nattachments == 0) {
		add_body(&b, body, body_len, NULL);
		goto done;
	}

	/*
	 * "=_" cannot occur in base64 lines, so only a 7bit body could hold
	 * the boundary: draw again until it does not.
	 */
	do {
		memcpy(boundary, "=_gw_", 5);
		random_hex(boundary + 5, 16);
	} while (memmem(body, body_len, boundary, strlen(boundary)) != NULL);
	buf_printf(&b, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n"
	    "\r\n", boundary);
	buf_printf(&b, "--%s\r\n", boundary);
	add_body(&b, body, body_len, boundary);
	for (size_t i = 0; i < p->nattachments; i++) {
		add_attachment(&b, &p->attachments[i], boundary);
		buf_str(&b, i + 1 < p->nattachments ? "\r\n" : "--\r\n");
	}

done:
	*len = b.len;
	return b.p;
}

/*
 * The length of the field name at the start of line[0..n) (RFC 5322 3.6.8:
 * printable ASCII but ':', then optional white space and ':'), or 0.
 */
static size_t
field_name(const char *line, size_t n)
{
	size_t i = 0, name;

	while (i < n && line[i] > ' ' && line[i] < 0x7f && line[i] != ':')
		i++;
	if ((name = i) == 0)
		return 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n || line[i] != ':')
		return 0;
	return name;
}

/* Length of the line at s[0..len) without its LF or CRLF; *next after it. */
static size_t
header_line(const char *s, size_t len, size_t *next)
{
	const char *lf = memchr(s, '\n', len);
	size_t n;

	if (lf == NULL) {
		*next = len;
		return len;
	}
	n = (size_t)(lf - s);
	*next = n + 1;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	return n;
}

static bool
field_is(const char *line, size_t n, const char *name)
{
	size_t k = field_name(line, n);

	return k == strlen(name) && strncasecmp(line, name, k) == 0;
}

int
message_complete(const char *raw, size_t len, const char *domain,
    time_t now, char **out, size_t *outlen, char **cause)
{
	struct buf b = { 0 };
	bool has_date = false, has_id = false;
	const char *eol;
	size_t pos = 0, next, n;
	char *s;

	n = header_line(raw, len, &next);
	if (len == 0 || field_name(raw, n) == 0) {
		if (cause != NULL)
			*cause = xstrdup("the message has no header: its first "
			    "line is not a header field (Name: value)");
		return -1;
	}
	/* Added lines end as the message's first line does. */
	eol = next > n + 1 ? "\r\n" : next == n + 1 ? "\n" : "\r\n";

	/* The header ends at the first empty line (RFC 5322 2.1). */
	while (pos < len) {
		n = header_line(raw + pos, len - pos, &next);
		if (n == 0)
			break;
		if (field_is(raw + pos, n, "Date"))
			has_date = true;
		else if (field_is(raw + pos, n, "Message-ID"))
			has_id = true;
		pos += next;
	}

	if (!has_date) {
		s = format_date(now);
		buf_printf(&b, "Date: %s%s", s, eol);
		free(s);
	}
	if (!has_id) {
		s = make_message_id(now, domain);
		buf_printf(&b, "Message-ID: %s%s", s, eol);
		free(s);
	}
	buf_add(&b, raw, len);
	*out = b.p;
	*outlen = b.len;
	return 0;
}

char *
message_id(const char *msg, size_t len)
{
	struct buf b = { 0 };
	size_t pos = 0, next, n, k, start, end;
	bool in_id = false;

	while (pos < len) {
		n = header_line(msg + pos, len - pos, &next);
		if (n == 0)
			break;
		if (msg[pos] == ' ' || msg[pos] == '\t') {
			/* Folded: the line end goes, the white space stays. */
			if (in_id)
				buf_add(&b, msg + pos, n);
		} else if (in_id)
			break;
		else if (field_is(msg + pos, n, "Message-ID")) {
			k = (size_t)((const char *)memchr(msg + pos, ':', n) -
			    (msg + pos)) + 1;
			buf_add(&b, msg + pos + k, n - k);
			in_id = true;
		}
		pos += next;
	}
	if (b.p == NULL)
		return NULL;
	start = strspn(b.p, " \t");
	end = b.len;
	while (end > start && (b.p[end - 1] == ' ' || b.p[end - 1] == '\t'))
		end--;
	if (end == start) {
		free(b.p);
		return NULL;
	}
	memmove(b.p, b.p + start, end - start);
	b.p[end - start] = '\0';
	return b.p;
}

int
message_smtp_data(const char *msg, size_t len, char **out, size_t *outlen,
    char **cause)
{
	char *o;
	size_t i, olen = 0, line = 1, col = 0;

	/* Each byte becomes at most two: "." as "..", LF or CR as CRLF. */
	o = xmalloc(len * 2 + 6);
	for (i = 0; i < len; i++) {
		char c = msg[i];

		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && msg[i + 1] == '\n')
				i++;
			o[olen++] = '\r';
			o[olen++] = '\n';
			line++;
			col = 0;
			continue;
		}
		if (col == MESSAGE_LINE_MAX) {
			if (cause != NULL)
				*cause = xasprintf("line %zu is longer than %d "
				    "octets", line, MESSAGE_LINE_MAX);
			free(o);
			return -1;
		}
		/* RFC 5321 4.5.2: the receiver strips the added dot. */
		if (col == 0 && c == '.')
			o[olen++] = '.';
		o[olen++] = c;
		col++;
	}
	if (col > 0) {
		o[olen++] = '\r';
		o[olen++] = '\n';
	}
	memcpy(o + olen, ".\r\n", 4);
	olen += 3;
	*out = o;
	*outlen = olen;
	return 0;
}

int
message_data_check(const char *data, size_t len, char **cause)
{
	size_t line = 1, start = 0;

	for (size_t i = 0; i < len; i++) {
		bool crlf = data[i] == '\r' && i + 1 < len &&
		    data[i + 1] == '\n';

		if ((data[i] == '\r' && !crlf) || data[i] == '\n') {
			*cause = xasprintf("line %zu has a bare %s", line,
			    data[i] == '\r' ? "CR" : "LF");
			return -1;
		}
		if (i == start && data[i] == '.' && i + 3 != len &&
		    (i + 1 >= len || data[i + 1] != '.')) {
			*cause = xasprintf("line %zu starts with a dot that "
			    "is not doubled", line);
			return -1;
		}
		if (crlf) {
			i++;
			start = i + 1;
			line++;
		}
	}
	if (len < 3 || memcmp(data + len - 3, ".\r\n", 3) != 0 ||
	    (len > 3 && data[len - 4] != '\n')) {
		*cause = xstrdup("it does not end with a line holding only "
		    "a dot");
		return -1;
	}
	return 0;
}
