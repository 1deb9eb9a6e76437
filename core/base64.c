/*
 * core/base64.c: base64 (RFC 4648 section 4) encoding, plain and in MIME
 * lines, and a strict decoder.
 *
 * The decoder is for what gwsmtp itself produced or a server's 334
 * challenge: it refuses white space, a missing or misplaced '=', and
 * non-zero pad bits (RFC 4648 3.5) rather than guessing.  No base64url.
 */
#include "core/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

/* Characters per MIME line, CRLF not counted (RFC 2045 6.8). */
#define MIME_LINE	76

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes one group of up to 3 bytes into 4 characters at out. */
static void
encode_group(const unsigned char *in, size_t n, char *out)
{
	uint32_t v;

	v = (uint32_t)in[0] << 16;
	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	out[0] = alphabet[(v >> 18) & 0x3f];
	out[1] = alphabet[(v >> 12) & 0x3f];
	out[2] = n > 1 ? alphabet[(v >> 6) & 0x3f] : '=';
	out[3] = n > 2 ? alphabet[v & 0x3f] : '=';
}

char *
base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out;
	size_t i, o = 0;

	out = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i < len; i += 3) {
		encode_group(in + i, len - i < 3 ? len - i : 3, out + o);
		o += 4;
	}
	out[o] = '\0';
	return out;
}

char *
base64_encode_mime(const void *data, size_t len, size_t *outlen)
{
	const unsigned char *in = data;
	size_t chars = (len + 2) / 3 * 4;
	size_t lines = (chars + MIME_LINE - 1) / MIME_LINE;
	char *out;
	size_t i, o = 0, col = 0;

	out = xmalloc(chars + lines * 2 + 1);
	for (i = 0; i < len; i += 3) {
		/* 76 is a multiple of 4: a group never straddles lines. */
		encode_group(in + i, len - i < 3 ? len - i : 3, out + o);
		o += 4;
		col += 4;
		if (col == MIME_LINE || i + 3 >= len) {
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

/* The value of base64 character c, or -1. */
static int
decode_char(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(s), i, o = 0;
	unsigned char *buf;

	if (len % 4 != 0)
		return -1;
	buf = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)s[i + j];

			if (c == '=' && i + 4 == len && j >= 2) {
				/* "x=" then "=": only at the very end. */
				if (j == 2 && s[i + 3] != '=')
					goto fail;
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = decode_char(c)) == -1)
				goto fail;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* The bits past the last byte must be zero (canonical). */
		if ((pad == 1 && (w & 0xff) != 0) ||
		    (pad == 2 && (w & 0xffff) != 0))
			goto fail;
		buf[o++] = (w >> 16) & 0xff;
		if (pad < 2)
			buf[o++] = (w >> 8) & 0xff;
		if (pad < 1)
			buf[o++] = w & 0xff;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;

fail:
	free(buf);
	return -1;
}
