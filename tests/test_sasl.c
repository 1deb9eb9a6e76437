/*
 * tests/test_sasl.c: core/sasl.c: the exact client messages of PLAIN,
 * LOGIN and ANONYMOUS.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/sasl.h"
#include "core/xmalloc.h"

/* Decodes s, which must be valid base64; *len its length. */
static unsigned char *
decoded(const char *s, size_t *len)
{
	unsigned char *out;

	cr_assert_eq(base64_decode(s, &out, len), 0, "\"%s\" is not base64", s);
	return out;
}

Test(sasl, plain_is_empty_authzid_user_password)
{
	char *r = sasl_plain_response("user", "pass");

	cr_assert_str_eq(r, "AHVzZXIAcGFzcw==");
	free_secret(r);
}

Test(sasl, plain_keeps_utf8_and_punctuation)
{
	const char user[] = "j\xc3\xbcrgen@example.org";
	const char pass[] = "p\xc3\xa4ss w\xe2\x82\xac rd:=";
	char *r = sasl_plain_response(user, pass);
	unsigned char *d;
	size_t len;

	d = decoded(r, &len);
	cr_assert_eq(len, 1 + strlen(user) + 1 + strlen(pass));
	cr_assert_eq(d[0], '\0');
	cr_assert_eq(memcmp(d + 1, user, strlen(user)), 0);
	cr_assert_eq(d[1 + strlen(user)], '\0');
	cr_assert_eq(memcmp(d + 2 + strlen(user), pass, strlen(pass)), 0);
	free(d);
	free_secret(r);
}

Test(sasl, plain_with_empty_password)
{
	char *r = sasl_plain_response("u", "");

	cr_assert_str_eq(r, "AHUA");	/* "\0u\0" */
	free_secret(r);
}

Test(sasl, login_is_base64_of_the_value)
{
	char *r;

	r = sasl_login_response("user@example.com");
	cr_assert_str_eq(r, "dXNlckBleGFtcGxlLmNvbQ==");
	free_secret(r);
	r = sasl_login_response("\xc3\xa9t\xc3\xa9");	/* "été" */
	cr_assert_str_eq(r, "w6l0w6k=");
	free_secret(r);
}

Test(sasl, anonymous_is_base64_of_the_trace)
{
	char *r;

	r = sasl_anonymous_response("sirhc");	/* RFC 4505 example's trace */
	cr_assert_str_eq(r, "c2lyaGM=");
	free_secret(r);
	r = sasl_anonymous_response("ops@example.com");
	cr_assert_str_eq(r, "b3BzQGV4YW1wbGUuY29t");
	free_secret(r);
}

Test(sasl, anonymous_empty_trace_is_equals_sign)
{
	char *r = sasl_anonymous_response("");

	cr_assert_str_eq(r, "=");
	free_secret(r);
}
