/*
 * core/text.c: UTF-8 checks and escaping for display.
 */
#include "core/text.h"

#include <stdio.h>
#include <string.h>

#include "core/xmalloc.h"

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
text_utf8_length(const char *s)
{
	size_t count = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			count++;
	}
	return count;
}

bool
text_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

char *
text_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, o = 0, n;
	char *out = xmalloc(len * 4 + 1);

	while (i < len) {
		unsigned char c = p[i];

		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
			i++;
		} else if ((n = utf8_seq(p + i, len - i)) == 0) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
			i++;
		} else if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
			/* C1 controls (U+0080-U+009F), e.g. the 8-bit CSI. */
			o += (size_t)snprintf(out + o, 7, "\\u%04x", p[i + 1]);
			i += 2;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}
