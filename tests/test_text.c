/*
 * tests/test_text.c: core/text.c: UTF-8 checking and counting, control
 * character detection, and escaping for display.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static bool
valid(const char *s)
{
	return text_utf8_valid(s, strlen(s));
}

static void
assert_escape(const char *in, const char *want)
{
	char *got = text_escape(in);

	cr_assert_str_eq(got, want);
	free(got);
}

Test(text, utf8_valid_accepts_well_formed_text)
{
	cr_assert(text_utf8_valid("", 0));
	cr_assert(valid("plain ASCII, with punctuation!"));
	cr_assert(valid("\x7f"), "DEL is ASCII, hence valid UTF-8");
	cr_assert(valid("caf\xc3\xa9"), "U+00E9, 2 bytes");
	cr_assert(valid("\xc2\x80"), "U+0080, smallest 2-byte form");
	cr_assert(valid("\xdf\xbf"), "U+07FF, largest 2-byte form");
	cr_assert(valid("\xe0\xa0\x80"), "U+0800, smallest 3-byte form");
	cr_assert(valid("\xe2\x82\xac"), "euro sign, 3 bytes");
	cr_assert(valid("\xed\x9f\xbf"), "U+D7FF, just below the surrogates");
	cr_assert(valid("\xee\x80\x80"), "U+E000, just above the surrogates");
	cr_assert(valid("\xef\xbf\xbf"), "U+FFFF");
	cr_assert(valid("\xf0\x90\x80\x80"), "U+10000, smallest 4-byte form");
	cr_assert(valid("\xf0\x9f\x98\x80"), "emoji, 4 bytes");
	cr_assert(valid("\xf4\x8f\xbf\xbf"), "U+10FFFF, the last code point");
}

Test(text, utf8_valid_refuses_overlong_forms)
{
	cr_assert_not(valid("\xc0\xaf"), "overlong '/' in 2 bytes");
	cr_assert_not(valid("\xc1\xbf"), "overlong U+007F in 2 bytes");
	cr_assert_not(valid("\xc0\x80"), "overlong NUL");
	cr_assert_not(valid("\xe0\x80\xaf"), "overlong '/' in 3 bytes");
	cr_assert_not(valid("\xe0\x9f\xbf"), "overlong U+07FF in 3 bytes");
	cr_assert_not(valid("\xf0\x80\x80\xaf"), "overlong '/' in 4 bytes");
	cr_assert_not(valid("\xf0\x8f\xbf\xbf"), "overlong U+FFFF in 4 bytes");
}

Test(text, utf8_valid_refuses_surrogates)
{
	cr_assert_not(valid("\xed\xa0\x80"), "U+D800");
	cr_assert_not(valid("\xed\xaf\xbf"), "U+DBFF");
	cr_assert_not(valid("\xed\xb0\x80"), "U+DC00");
	cr_assert_not(valid("\xed\xbf\xbf"), "U+DFFF");
	cr_assert_not(valid("\xed\xa0\xbd\xed\xb8\x80"), "CESU-8 surrogate pair");
}

Test(text, utf8_valid_refuses_truncated_sequences)
{
	cr_assert_not(valid("\xc3"), "lead byte alone");
	cr_assert_not(valid("caf\xc3"), "lead byte at the end");
	cr_assert_not(valid("\xe2\x82"), "3-byte form cut after 2");
	cr_assert_not(valid("\xf0\x9f\x98"), "4-byte form cut after 3");
	cr_assert_not(valid("\xe2\x82x"), "continuation replaced by ASCII");
	cr_assert_not(valid("\x80"), "lone continuation byte");
	cr_assert_not(valid("a\xbf" "b"), "continuation byte between ASCII");
	/* The length bounds the check: a valid sequence cut by len is not. */
	cr_assert_not(text_utf8_valid("\xc3\xa9", 1));
	cr_assert_not(text_utf8_valid("\xf0\x9f\x98\x80", 3));
	cr_assert(text_utf8_valid("ab\xff", 2), "bytes after len are not read");
}

Test(text, utf8_valid_refuses_beyond_u10ffff_and_bad_bytes)
{
	cr_assert_not(valid("\xf4\x90\x80\x80"), "U+110000");
	cr_assert_not(valid("\xf5\x80\x80\x80"), "lead byte 0xF5");
	cr_assert_not(valid("\xf7\xbf\xbf\xbf"), "U+1FFFFF");
	cr_assert_not(valid("\xf8\x88\x80\x80\x80"), "5-byte form");
	cr_assert_not(valid("\xfe"));
	cr_assert_not(valid("\xff"));
	cr_assert_not(text_utf8_valid("a\0b", 3), "NUL inside the length");
}

Test(text, utf8_length_counts_code_points)
{
	cr_assert_eq(text_utf8_length(""), 0);
	cr_assert_eq(text_utf8_length("abc"), 3);
	cr_assert_eq(text_utf8_length("h\xc3\xa9llo"), 5);
	cr_assert_eq(text_utf8_length("\xe2\x82\xac\xf0\x9f\x98\x80"), 2);
	cr_assert_eq(text_utf8_length("\xc3\xa9\xc3\xa9\xc3\xa9"), 3);
}

Test(text, has_control_finds_c0_and_del)
{
	cr_assert_not(text_has_control(""));
	cr_assert_not(text_has_control("plain text ~!@#"));
	cr_assert_not(text_has_control("caf\xc3\xa9 \xe2\x82\xac"));
	cr_assert(text_has_control("a\tb"), "tab counts");
	cr_assert(text_has_control("line\n"));
	cr_assert(text_has_control("\r"));
	cr_assert(text_has_control("\x01"));
	cr_assert(text_has_control("red\x1b[31m"));
	cr_assert(text_has_control("\x1f"));
	cr_assert(text_has_control("del\x7f"));
}

Test(text, escape_leaves_plain_utf8_alone)
{
	assert_escape("", "");
	assert_escape("Hello, world ~!", "Hello, world ~!");
	assert_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_escape("\xc2\xa0", "\xc2\xa0");	/* U+00A0 is not a C1 control */
}

Test(text, escape_writes_control_characters_as_c_escapes)
{
	assert_escape("\x1b[2J", "\\x1b[2J");
	assert_escape("a\nb", "a\\nb");
	assert_escape("a\tb", "a\\tb");
	assert_escape("a\rb", "a\\rb");
	assert_escape("\x01\x1f", "\\x01\\x1f");
	assert_escape("\x7f", "\\x7f");
}

Test(text, escape_doubles_backslash)
{
	assert_escape("C:\\dir", "C:\\\\dir");
	/* So an escaped text cannot be mistaken for an escape. */
	assert_escape("\\x1b", "\\\\x1b");
}

Test(text, escape_writes_c1_controls_as_unicode_escapes)
{
	assert_escape("\xc2\x9b" "31m", "\\u009b31m");	/* 8-bit CSI */
	assert_escape("\xc2\x80", "\\u0080");
	assert_escape("\xc2\x9f", "\\u009f");
}

Test(text, escape_writes_invalid_bytes_as_hex)
{
	assert_escape("\xff", "\\xff");
	assert_escape("a\xc3", "a\\xc3");
	assert_escape("\xc0\xaf", "\\xc0\\xaf");
	assert_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");
	assert_escape("\xe2\x82x", "\\xe2\\x82x");
}

Test(text, escape_worst_case_fits)
{
	char in[257];
	char *out;

	/* Every byte grows to four: the largest expansion. */
	memset(in, 0x01, 256);
	in[256] = '\0';
	out = text_escape(in);
	cr_assert_eq(strlen(out), 256 * 4);
	cr_assert_eq(strncmp(out, "\\x01\\x01", 8), 0);
	free(out);

	memset(in, 0xff, 256);
	out = text_escape(in);
	cr_assert_eq(strlen(out), 256 * 4);
	free(out);

	for (size_t i = 0; i < 256; i += 2)
		memcpy(in + i, "\xc2\x9b", 2);
	out = text_escape(in);
	cr_assert_eq(strlen(out), 128 * 6);
	free(out);
}
