/*
 * tests/test_base64.c: core/base64.c: RFC 4648 vectors both ways, MIME
 * lines, and a decoder that refuses what is not canonical base64.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

/* RFC 4648 section 10. */
static const char *const vectors[][2] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(base64, encodes_rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		char *got = base64_encode(vectors[i][0], strlen(vectors[i][0]));

		cr_assert_str_eq(got, vectors[i][1], "encode(\"%s\")",
		    vectors[i][0]);
		free(got);
	}
}

Test(base64, decodes_rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		unsigned char *got = NULL;
		size_t len = 99;

		cr_assert_eq(base64_decode(vectors[i][1], &got, &len), 0,
		    "decode(\"%s\")", vectors[i][1]);
		cr_assert_eq(len, strlen(vectors[i][0]));
		cr_assert_str_eq((char *)got, vectors[i][0]);
		free(got);
	}
}

Test(base64, round_trips_every_byte_value)
{
	unsigned char data[256 * 3 + 2], *back;
	size_t len;
	char *enc;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof data; n += 37) {
		enc = base64_encode(data, n);
		cr_assert_eq(strlen(enc), (n + 2) / 3 * 4);
		cr_assert_eq(base64_decode(enc, &back, &len), 0);
		cr_assert_eq(len, n);
		cr_assert_arr_eq(back, data, n);
		free(back);
		free(enc);
	}
}

Test(base64, mime_lines_are_76_characters_and_crlf)
{
	unsigned char data[200];
	size_t outlen, off = 0, lines = 0;
	char *enc, *flat;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)i;
	enc = base64_encode_mime(data, sizeof data, &outlen);
	flat = base64_encode(data, sizeof data);
	cr_assert_eq(outlen, strlen(enc));
	/* 200 bytes: 268 characters: 76, 76, 76, 40. */
	while (off < outlen) {
		char *crlf = strstr(enc + off, "\r\n");
		size_t n;

		cr_assert_not_null(crlf, "every line ends with CRLF");
		n = (size_t)(crlf - (enc + off));
		cr_assert_eq(n, lines < 3 ? 76 : 40, "line %zu has %zu", lines, n);
		cr_assert_eq(memcmp(enc + off, flat + lines * 76, n), 0);
		off += n + 2;
		lines++;
	}
	cr_assert_eq(lines, 4);
	cr_assert_eq(outlen, 268 + 4 * 2);
	free(enc);
	free(flat);
}

Test(base64, mime_exact_line_multiple_has_no_empty_line)
{
	unsigned char data[57 * 2] = { 0 };	/* exactly two lines of 76 */
	size_t outlen;
	char *enc = base64_encode_mime(data, sizeof data, &outlen);

	cr_assert_eq(outlen, 2 * 78);
	cr_assert_eq(memcmp(enc + 76, "\r\n", 2), 0);
	cr_assert_eq(memcmp(enc + 154, "\r\n", 2), 0);
	free(enc);

	enc = base64_encode_mime("", 0, &outlen);
	cr_assert_str_eq(enc, "");
	cr_assert_eq(outlen, 0);
	free(enc);
}

Test(base64, decode_refuses_bad_input)
{
	static const char *const bad[] = {
		"Zg=",		/* length not a multiple of 4 */
		"Zg",		/* padding missing */
		"Zm9v\r\nYg==",	/* line break */
		"Zm9 v",	/* space */
		"Zm9-",		/* base64url character */
		"Zm9_",
		"Zm$v",
		"Z===",		/* too much padding */
		"====",
		"Zg==Zm9v",	/* padding in the middle */
		"Z=9v",		/* '=' before a character */
		"Zm=v",
		"Zh==",		/* non-zero pad bits */
		"Zm9=",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned char *out = NULL;
		size_t len = 0;

		cr_assert_eq(base64_decode(bad[i], &out, &len), -1,
		    "\"%s\" accepted", bad[i]);
		cr_assert_null(out);
	}
}
