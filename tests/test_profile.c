/*
 * tests/test_profile.c: core/profile.c (keys, defaults, set/get/has,
 * validation, diff, TLS port defaults, global settings) and diag_format().
 *
 * Every refused value is also checked to leave the profile as it was, by
 * comparing the text form of every key before and after.
 */
#include <criterion/criterion.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/profile.h"

/* Helpers. */

/* A string of n copies of the (possibly multibyte) unit u.  Caller frees. */
static char *
repeat(const char *u, size_t n)
{
	size_t ul = strlen(u);
	char *s = malloc(ul * n + 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, u, ul);
	s[ul * n] = '\0';
	return s;
}

static const char *
kname(enum profile_key k)
{
	return profile_key_name(k);
}

static void
set_ok(struct profile *p, enum profile_key k, const char *v)
{
	char *cause = NULL;
	int rc = profile_set(p, k, v, &cause);

	cr_assert_eq(rc, 0, "%s=\"%s\" refused: %s", kname(k), v,
	    cause ? cause : "(no cause)");
	cr_assert_null(cause, "cause set on success for %s", kname(k));
}

static void
assert_get(const struct profile *p, enum profile_key k, const char *want)
{
	char *got = profile_get(p, k);

	cr_assert_str_eq(got, want, "profile_get(%s)", kname(k));
	free(got);
}

/* Sets k=v and checks that profile_get() gives want back. */
static void
set_get(struct profile *p, enum profile_key k, const char *v, const char *want)
{
	set_ok(p, k, v);
	assert_get(p, k, want);
}

struct snapshot {
	char	*v[PROFILE_KEY_COUNT];
};

static void
snap_take(struct snapshot *s, const struct profile *p)
{
	for (int k = 0; k < PROFILE_KEY_COUNT; k++)
		s->v[k] = profile_get(p, (enum profile_key)k);
}

static void
snap_check_free(struct snapshot *s, const struct profile *p, const char *what)
{
	for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
		char *now = profile_get(p, (enum profile_key)k);

		cr_assert_str_eq(now, s->v[k], "%s changed %s", what,
		    kname((enum profile_key)k));
		free(now);
		free(s->v[k]);
	}
}

/*
 * Sets k=v, expects a refusal with a cause and an unchanged profile.
 * Returns the cause (caller frees).
 */
static char *
set_bad(struct profile *p, enum profile_key k, const char *v)
{
	struct snapshot before;
	char *cause = NULL, what[160];
	int rc;

	snap_take(&before, p);
	rc = profile_set(p, k, v, &cause);
	cr_assert_eq(rc, -1, "%s=\"%s\" was accepted", kname(k), v);
	cr_assert_not_null(cause, "%s=\"%s\": no cause", kname(k), v);
	cr_assert_gt(strlen(cause), 0);
	snprintf(what, sizeof what, "refused %s", kname(k));
	snap_check_free(&before, p, what);
	return cause;
}

/* set_bad() and the cause must contain needle. */
static void
set_bad_says(struct profile *p, enum profile_key k, const char *v,
    const char *needle)
{
	char *cause = set_bad(p, k, v);

	cr_assert_not_null(strstr(cause, needle),
	    "%s=\"%s\": cause \"%s\" lacks \"%s\"", kname(k), v, cause,
	    needle);
	free(cause);
}

static void
set_bad_free(struct profile *p, enum profile_key k, const char *v)
{
	free(set_bad(p, k, v));
}

/* A profile that passes validation. */
static struct profile *
good_profile(void)
{
	struct profile *p = profile_new("gw");

	set_ok(p, PROFILE_KEY_HOST, "smtp.example.com");
	return p;
}

/* Key table. */

Test(profile_keys, names_follow_spec_order_and_look_up)
{
	static const char *const want[PROFILE_KEY_COUNT] = {
		"name", "active", "host", "port", "alt_hosts", "tls",
		"starttls", "verify", "ca_file", "fingerprint", "tls_min",
		"auth", "username", "password", "trace",
		"allow_plain_auth_without_tls", "from", "to", "helo",
		"timeout", "retries", "retry_delay", "retry_max",
		"max_connections", "comment"
	};
	enum profile_key k;

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		cr_assert_str_eq(profile_key_name((enum profile_key)i), want[i]);
		cr_assert_eq(profile_key_lookup(want[i], &k), 0, "%s", want[i]);
		cr_assert_eq((int)k, i, "%s", want[i]);
		cr_assert_not_null(profile_key_help((enum profile_key)i));
		cr_assert_gt(strlen(profile_key_help((enum profile_key)i)), 0);
	}
	cr_assert_eq(profile_key_lookup("hostname", &k), -1);
	cr_assert_eq(profile_key_lookup("", &k), -1);
	cr_assert_eq(profile_key_lookup("HOST", &k), -1);
	cr_assert_str_eq(profile_key_name(PROFILE_KEY_COUNT), "?");
}

Test(profile_keys, types_and_secrets)
{
	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;

		cr_assert_eq(profile_key_secret(k), k == PROFILE_KEY_PASSWORD,
		    "%s", kname(k));
	}
	cr_assert_eq(profile_key_type(PROFILE_KEY_NAME), PROFILE_TYPE_STRING);
	cr_assert_eq(profile_key_type(PROFILE_KEY_ACTIVE), PROFILE_TYPE_BOOL);
	cr_assert_eq(profile_key_type(PROFILE_KEY_PORT), PROFILE_TYPE_INT);
	cr_assert_eq(profile_key_type(PROFILE_KEY_ALT_HOSTS), PROFILE_TYPE_LIST);
	cr_assert_eq(profile_key_type(PROFILE_KEY_TLS), PROFILE_TYPE_ENUM);
	cr_assert_eq(profile_key_type(PROFILE_KEY_STARTTLS), PROFILE_TYPE_ENUM);
	cr_assert_eq(profile_key_type(PROFILE_KEY_VERIFY), PROFILE_TYPE_BOOL);
	cr_assert_eq(profile_key_type(PROFILE_KEY_TLS_MIN), PROFILE_TYPE_ENUM);
	cr_assert_eq(profile_key_type(PROFILE_KEY_AUTH), PROFILE_TYPE_ENUM);
	cr_assert_eq(profile_key_type(PROFILE_KEY_PASSWORD),
	    PROFILE_TYPE_STRING);
	cr_assert_eq(profile_key_type(PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS),
	    PROFILE_TYPE_BOOL);
	cr_assert_eq(profile_key_type(PROFILE_KEY_TIMEOUT), PROFILE_TYPE_INT);
	cr_assert_eq(profile_key_type(PROFILE_KEY_MAX_CONNECTIONS),
	    PROFILE_TYPE_INT);
	cr_assert_eq(profile_key_type(PROFILE_KEY_COMMENT), PROFILE_TYPE_STRING);
	cr_assert_not_null(strstr(profile_key_help(PROFILE_KEY_PORT),
	    "1-65535"));
}

Test(profile_keys, tls_and_auth_names_and_default_ports)
{
	cr_assert_str_eq(profile_tls_name(PROFILE_TLS_NONE), "none");
	cr_assert_str_eq(profile_tls_name(PROFILE_TLS_EXPLICIT), "explicit");
	cr_assert_str_eq(profile_tls_name(PROFILE_TLS_IMPLICIT), "implicit");
	cr_assert_str_eq(profile_auth_name(PROFILE_AUTH_NONE), "none");
	cr_assert_str_eq(profile_auth_name(PROFILE_AUTH_PLAIN), "plain");
	cr_assert_str_eq(profile_auth_name(PROFILE_AUTH_LOGIN), "login");
	cr_assert_str_eq(profile_auth_name(PROFILE_AUTH_ANONYMOUS),
	    "anonymous");
	cr_assert_eq(profile_default_port(PROFILE_TLS_IMPLICIT), 465);
	cr_assert_eq(profile_default_port(PROFILE_TLS_EXPLICIT), 587);
	cr_assert_eq(profile_default_port(PROFILE_TLS_NONE), 25);
}

/* Defaults. */

Test(profile_defaults, new_profile_has_spec_defaults)
{
	struct profile *p = profile_new("gw");

	cr_assert_str_eq(p->name, "gw");
	cr_assert_eq(p->active, true);
	cr_assert_eq(p->tls, PROFILE_TLS_IMPLICIT);
	cr_assert_eq(p->port, 465);
	cr_assert_eq(p->starttls, PROFILE_STARTTLS_MANDATORY);
	cr_assert_eq(p->verify, true);
	cr_assert_eq(p->tls_min, PROFILE_TLS_MIN_1_2);
	cr_assert_eq(p->auth, PROFILE_AUTH_NONE);
	cr_assert_eq(p->allow_plain_auth_without_tls, false);
	cr_assert_eq(p->timeout, 60);
	cr_assert_eq(p->retries, 10);
	cr_assert_eq(p->retry_delay, 10);
	cr_assert_eq(p->retry_max, 1800);
	cr_assert_eq(p->max_connections, 1);
	cr_assert_eq(p->alt_hosts_n, 0);
	cr_assert_null(p->host);
	cr_assert_null(p->ca_file);
	cr_assert_null(p->fingerprint);
	cr_assert_null(p->username);
	cr_assert_null(p->password);
	cr_assert_null(p->trace);
	cr_assert_null(p->from);
	cr_assert_null(p->to);
	cr_assert_null(p->helo);
	cr_assert_null(p->comment);
	cr_assert_eq(p->revision, 0);
	profile_free(p);
}

Test(profile_defaults, text_form_of_defaults)
{
	static const char *const want[PROFILE_KEY_COUNT] = {
		[PROFILE_KEY_NAME] = "gw",
		[PROFILE_KEY_ACTIVE] = "true",
		[PROFILE_KEY_HOST] = "",
		[PROFILE_KEY_PORT] = "465",
		[PROFILE_KEY_ALT_HOSTS] = "",
		[PROFILE_KEY_TLS] = "implicit",
		[PROFILE_KEY_STARTTLS] = "mandatory",
		[PROFILE_KEY_VERIFY] = "true",
		[PROFILE_KEY_CA_FILE] = "",
		[PROFILE_KEY_FINGERPRINT] = "",
		[PROFILE_KEY_TLS_MIN] = "1.2",
		[PROFILE_KEY_AUTH] = "none",
		[PROFILE_KEY_USERNAME] = "",
		[PROFILE_KEY_PASSWORD] = "",
		[PROFILE_KEY_TRACE] = "",
		[PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS] = "false",
		[PROFILE_KEY_FROM] = "",
		[PROFILE_KEY_TO] = "",
		[PROFILE_KEY_HELO] = "",
		[PROFILE_KEY_TIMEOUT] = "60",
		[PROFILE_KEY_RETRIES] = "10",
		[PROFILE_KEY_RETRY_DELAY] = "10",
		[PROFILE_KEY_RETRY_MAX] = "1800",
		[PROFILE_KEY_MAX_CONNECTIONS] = "1",
		[PROFILE_KEY_COMMENT] = "",
	};
	struct profile *p = profile_new("gw");

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		enum profile_key_type t = profile_key_type(k);
		bool set = t != PROFILE_TYPE_STRING && t != PROFILE_TYPE_LIST;

		assert_get(p, k, want[i]);
		if (k == PROFILE_KEY_NAME)
			set = true;
		cr_assert_eq(profile_has(p, k), set, "profile_has(%s)",
		    kname(k));
	}
	profile_free(p);
}

Test(profile_defaults, new_without_name)
{
	struct profile *p = profile_new(NULL);

	cr_assert_null(p->name);
	cr_assert_not(profile_has(p, PROFILE_KEY_NAME));
	assert_get(p, PROFILE_KEY_NAME, "");
	profile_free(p);
	profile_free(NULL);
}

/* Numeric keys. */

struct range {
	enum profile_key	 key;
	int			 min, max;
};

static const struct range ranges[] = {
	{ PROFILE_KEY_PORT, 1, 65535 },
	{ PROFILE_KEY_TIMEOUT, 1, 3600 },
	{ PROFILE_KEY_RETRIES, 0, 999 },
	{ PROFILE_KEY_RETRY_DELAY, 1, 9999 },
	{ PROFILE_KEY_RETRY_MAX, 1, 86400 },
	{ PROFILE_KEY_MAX_CONNECTIONS, 1, 999 },
};

Test(profile_numbers, limits_of_every_numeric_key)
{
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		const struct range *r = &ranges[i];
		struct profile *p = profile_new("gw");
		char buf[32], range[32];

		snprintf(range, sizeof range, "%d-%d", r->min, r->max);
		snprintf(buf, sizeof buf, "%d", r->min);
		set_get(p, r->key, buf, buf);
		snprintf(buf, sizeof buf, "%d", r->max);
		set_get(p, r->key, buf, buf);
		/* Refusals below keep the maximum just set. */
		snprintf(buf, sizeof buf, "%d", r->min - 1);
		set_bad_says(p, r->key, buf, range);
		snprintf(buf, sizeof buf, "%d", r->max + 1);
		set_bad_says(p, r->key, buf, range);
		set_bad_says(p, r->key, "-5", range);
		set_bad_says(p, r->key, "99999999999999999999", range);
		set_bad_says(p, r->key, "4294967297", range);
		snprintf(buf, sizeof buf, "%d", r->max);
		assert_get(p, r->key, buf);
		profile_free(p);
	}
}

Test(profile_numbers, non_numbers_refused)
{
	static const char *const bad[] = {
		"12a", "", " 5", "5 ", "0x10", "1e3", "+5", "-", "5.0",
		"five", "1 2", "\xef\xbc\x95"	/* fullwidth 5 */
	};

	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		struct profile *p = profile_new("gw");
		char range[32];

		/* The reason gives the range ("1-65535", "1 to 65535"). */
		snprintf(range, sizeof range, "%d", ranges[i].max);
		set_ok(p, ranges[i].key, "7");
		for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
			set_bad_says(p, ranges[i].key, bad[j], range);
		assert_get(p, ranges[i].key, "7");
		profile_free(p);
	}
}

Test(profile_numbers, port_out_of_range_states_range)
{
	struct profile *p = profile_new("gw");

	set_bad_says(p, PROFILE_KEY_PORT, "0", "1-65535");
	set_bad_says(p, PROFILE_KEY_PORT, "70000", "1-65535");
	set_bad_says(p, PROFILE_KEY_PORT, "65536", "1-65535");
	cr_assert_eq(p->port, 465);
	set_ok(p, PROFILE_KEY_PORT, "2525");
	cr_assert_eq(p->port, 2525);
	profile_free(p);
}

/* name. */

Test(profile_name, lengths)
{
	struct profile *p = profile_new("gw");
	char *s31 = repeat("a", 31), *s32 = repeat("b", 32);

	set_get(p, PROFILE_KEY_NAME, "x", "x");
	set_get(p, PROFILE_KEY_NAME, s31, s31);
	set_get(p, PROFILE_KEY_NAME, "Gw-1.mail_relay", "Gw-1.mail_relay");
	set_bad_says(p, PROFILE_KEY_NAME, s32, "31");
	set_bad_says(p, PROFILE_KEY_NAME, "", "empty");
	assert_get(p, PROFILE_KEY_NAME, "Gw-1.mail_relay");
	free(s31);
	free(s32);
	profile_free(p);
}

Test(profile_name, bad_characters_are_named)
{
	struct profile *p = profile_new("gw");

	set_bad_says(p, PROFILE_KEY_NAME, "my gw", "space");
	set_bad_says(p, PROFILE_KEY_NAME, "a/b", "'/'");
	set_bad_says(p, PROFILE_KEY_NAME, "a:b", "':'");
	set_bad_says(p, PROFILE_KEY_NAME, "caf\xc3\xa9", "'\xc3\xa9'");
	set_bad_says(p, PROFILE_KEY_NAME, "a\x01" "b", "\\x01");
	set_bad_says(p, PROFILE_KEY_NAME, "a\tb", "\\t");
	set_bad_says(p, PROFILE_KEY_NAME, "esc\x1b[2J", "\\x1b");
	set_bad_says(p, PROFILE_KEY_NAME, "del\x7f", "\\x7f");
	set_bad_says(p, PROFILE_KEY_NAME, "bad\xff", "UTF-8");
	profile_free(p);
}

Test(profile_name, check_name_directly)
{
	char *cause = NULL;
	char *s32 = repeat("n", 32);

	cr_assert_eq(profile_check_name("relay-1", &cause), 0);
	cr_assert_null(cause);
	cr_assert_eq(profile_check_name("", &cause), -1);
	free(cause);
	cause = NULL;
	cr_assert_eq(profile_check_name(s32, &cause), -1);
	cr_assert_not_null(strstr(cause, "31"), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert_eq(profile_check_name("a\x01", &cause), -1);
	cr_assert_not_null(strstr(cause, "\\x01"), "%s", cause);
	free(cause);
	cause = NULL;
	/* 16 characters, 32 bytes: refused for the character, not length. */
	free(s32);
	s32 = repeat("\xc3\xa9", 16);
	cr_assert_eq(profile_check_name(s32, &cause), -1);
	cr_assert_not_null(strstr(cause, "'\xc3\xa9'"), "%s", cause);
	free(cause);
	free(s32);
}

/* host. */

Test(profile_host, accepted_forms)
{
	static const char *const ok[] = {
		"smtp.example.com", "example.com.", "localhost", "a",
		"mail-1.example.org", "xn--bcher-kva.example", "1st.example",
		"192.0.2.1", "0.0.0.0", "2001:db8::1", "::1",
		"2001:0db8:0000:0000:0000:0000:0000:0001",
		"::ffff:192.0.2.1", "MAIL.EXAMPLE.COM"
	};
	struct profile *p = profile_new("gw");
	char *l63 = repeat("a", 63), *host = NULL;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		set_get(p, PROFILE_KEY_HOST, ok[i], ok[i]);
	/* 63-character label; 253-character name. */
	host = malloc(300);
	snprintf(host, 300, "%s.example", l63);
	set_get(p, PROFILE_KEY_HOST, host, host);
	snprintf(host, 300, "%s.%s.%s.%.61s", l63, l63, l63, l63);
	cr_assert_eq(strlen(host), 253);
	set_get(p, PROFILE_KEY_HOST, host, host);
	free(host);
	free(l63);
	profile_free(p);
}

Test(profile_host, refused_forms)
{
	struct profile *p = profile_new("gw");
	char *l63 = repeat("a", 63), *l64 = repeat("b", 64), host[300];

	set_ok(p, PROFILE_KEY_HOST, "smtp.example.com");
	set_bad_says(p, PROFILE_KEY_HOST, "", "empty");
	snprintf(host, sizeof host, "%s.%s.%s.%.62s", l63, l63, l63, l63);
	cr_assert_eq(strlen(host), 254);
	set_bad_says(p, PROFILE_KEY_HOST, host, "253");
	snprintf(host, sizeof host, "%s.example", l64);
	set_bad_says(p, PROFILE_KEY_HOST, host, "63");
	set_bad_says(p, PROFILE_KEY_HOST, "-mail.example", "'-'");
	set_bad_says(p, PROFILE_KEY_HOST, "mail-.example", "'-'");
	set_bad_says(p, PROFILE_KEY_HOST, "mail.-example", "'-'");
	set_bad_says(p, PROFILE_KEY_HOST, "mail..example", "empty label");
	set_bad_says(p, PROFILE_KEY_HOST, ".example", "empty label");
	set_bad_says(p, PROFILE_KEY_HOST, ".", "empty label");
	set_bad_says(p, PROFILE_KEY_HOST, "mail_1.example", "'_'");
	set_bad_says(p, PROFILE_KEY_HOST, "mail example", "space");
	set_bad_says(p, PROFILE_KEY_HOST, "999.1.1.1", "IPv4");
	set_bad_says(p, PROFILE_KEY_HOST, "1.2.3", "IPv4");
	set_bad_says(p, PROFILE_KEY_HOST, "host:25", "port");
	set_bad_says(p, PROFILE_KEY_HOST, "2001:db8::g", "IPv6");
	set_bad_says(p, PROFILE_KEY_HOST, "[2001:db8::1]", "IPv6");
	set_bad_says(p, PROFILE_KEY_HOST, "[mail].example", "'['");
	set_bad_says(p, PROFILE_KEY_HOST, "caf\xc3\xa9.example", "'\xc3\xa9'");
	set_bad_says(p, PROFILE_KEY_HOST, "mail\n.example", "\\n");
	set_bad_says(p, PROFILE_KEY_HOST, "mail\xff.example", "UTF-8");
	assert_get(p, PROFILE_KEY_HOST, "smtp.example.com");
	free(l63);
	free(l64);
	profile_free(p);
}

Test(profile_host, helo_is_a_host_name)
{
	struct profile *p = profile_new("gw");

	set_get(p, PROFILE_KEY_HELO, "gw.example.net", "gw.example.net");
	set_bad_says(p, PROFILE_KEY_HELO, "gw example", "space");
	set_bad_says(p, PROFILE_KEY_HELO, "gw_1", "'_'");
	set_get(p, PROFILE_KEY_HELO, "", "");
	cr_assert_null(p->helo);
	profile_free(p);
}

/* alt_hosts. */

Test(profile_alt_hosts, three_items_parse_and_round_trip)
{
	struct profile *p = profile_new("gw"), *q = profile_new("gw");
	bool changed[PROFILE_KEY_COUNT];
	char *text;

	set_ok(p, PROFILE_KEY_ALT_HOSTS,
	    "a.example:26, b.example,[2001:db8::1]:2525");
	cr_assert_eq(p->alt_hosts_n, 3);
	cr_assert_str_eq(p->alt_hosts[0], "a.example:26");
	cr_assert_str_eq(p->alt_hosts[1], "b.example");
	cr_assert_str_eq(p->alt_hosts[2], "[2001:db8::1]:2525");
	cr_assert(profile_has(p, PROFILE_KEY_ALT_HOSTS));
	text = profile_get(p, PROFILE_KEY_ALT_HOSTS);
	cr_assert_str_eq(text, "a.example:26,b.example,[2001:db8::1]:2525");
	set_ok(q, PROFILE_KEY_ALT_HOSTS, text);
	cr_assert_eq(profile_diff(p, q, changed), 0);
	free(text);
	profile_free(p);
	profile_free(q);
}

Test(profile_alt_hosts, accepted_forms)
{
	struct profile *p = profile_new("gw");

	set_get(p, PROFILE_KEY_ALT_HOSTS, "backup.example",
	    "backup.example");
	set_get(p, PROFILE_KEY_ALT_HOSTS, "192.0.2.7:587", "192.0.2.7:587");
	set_get(p, PROFILE_KEY_ALT_HOSTS, "[::1]", "[::1]");
	set_get(p, PROFILE_KEY_ALT_HOSTS, "x.example:1,y.example:65535",
	    "x.example:1,y.example:65535");
	set_get(p, PROFILE_KEY_ALT_HOSTS, "\ta.example\t , b.example ",
	    "a.example,b.example");
	cr_assert_eq(p->alt_hosts_n, 2);
	profile_free(p);
}

Test(profile_alt_hosts, refused_forms)
{
	struct profile *p = profile_new("gw");

	set_ok(p, PROFILE_KEY_ALT_HOSTS, "keep.example:26");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS,
	    "a.example,b.example,c.example,d.example", "3");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:0", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:65536", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:smtp", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:-25", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example:+25", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "[::1]:0", "1-65535");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "2001:db8::1", "brackets");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "2001:db8::1:25", "brackets");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "[2001:db8::1", "']'");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "[2001:db8::1]25", ":port");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "[192.0.2.1]:25", "IPv6");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a..example", "empty label");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, ":25", "empty");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example,,b.example",
	    "empty entry");
	set_bad_says(p, PROFILE_KEY_ALT_HOSTS, "a.example,", "empty entry");
	set_bad_free(p, PROFILE_KEY_ALT_HOSTS, "a.example,b\x01.example");
	set_bad_free(p, PROFILE_KEY_ALT_HOSTS, "a\xff.example");
	/* A bad third item refuses the whole list. */
	set_bad_free(p, PROFILE_KEY_ALT_HOSTS, "a.example,b.example,c_d");
	cr_assert_eq(p->alt_hosts_n, 1);
	cr_assert_str_eq(p->alt_hosts[0], "keep.example:26");
	profile_free(p);
}

Test(profile_alt_hosts, empty_clears)
{
	struct profile *p = profile_new("gw");

	set_ok(p, PROFILE_KEY_ALT_HOSTS, "a.example,b.example");
	cr_assert_eq(p->alt_hosts_n, 2);
	set_get(p, PROFILE_KEY_ALT_HOSTS, "", "");
	cr_assert_eq(p->alt_hosts_n, 0);
	cr_assert_not(profile_has(p, PROFILE_KEY_ALT_HOSTS));
	profile_free(p);
}

Test(profile_alt_hosts, list_form)
{
	static const char *const three[] = {
		"a.example:26", "b.example", "[2001:db8::1]:2525"
	};
	static const char *const four[] = {
		"a.example", "b.example", "c.example", "d.example"
	};
	static const char *const bad[] = { "a.example", "2001:db8::1" };
	static const char *const comma[] = { "a.example,b.example" };
	struct profile *p = profile_new("gw");
	char *cause = NULL;

	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, three, 3,
	    &cause), 0);
	assert_get(p, PROFILE_KEY_ALT_HOSTS,
	    "a.example:26,b.example,[2001:db8::1]:2525");
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, four, 4,
	    &cause), -1);
	cr_assert_not_null(strstr(cause, "3"), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, bad, 2,
	    &cause), -1);
	free(cause);
	cause = NULL;
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, comma, 1,
	    &cause), -1, "a comma inside one item is not two items");
	free(cause);
	cause = NULL;
	cr_assert_eq(p->alt_hosts_n, 3, "refused lists leave the old one");
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_HOST, three, 1,
	    &cause), -1, "host is not a list");
	free(cause);
	cause = NULL;
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, NULL, 0,
	    &cause), 0);
	cr_assert_eq(p->alt_hosts_n, 0);
	profile_free(p);
}

/* Enums. */

Test(profile_enums, each_word_case_insensitive_canonical_output)
{
	struct profile *p = profile_new("gw");

	set_get(p, PROFILE_KEY_TLS, "none", "none");
	cr_assert_eq(p->tls, PROFILE_TLS_NONE);
	set_get(p, PROFILE_KEY_TLS, "EXPLICIT", "explicit");
	cr_assert_eq(p->tls, PROFILE_TLS_EXPLICIT);
	set_get(p, PROFILE_KEY_TLS, "Implicit", "implicit");
	cr_assert_eq(p->tls, PROFILE_TLS_IMPLICIT);

	set_get(p, PROFILE_KEY_STARTTLS, "Optional", "optional");
	cr_assert_eq(p->starttls, PROFILE_STARTTLS_OPTIONAL);
	set_get(p, PROFILE_KEY_STARTTLS, "MANDATORY", "mandatory");
	cr_assert_eq(p->starttls, PROFILE_STARTTLS_MANDATORY);

	set_get(p, PROFILE_KEY_TLS_MIN, "1.3", "1.3");
	cr_assert_eq(p->tls_min, PROFILE_TLS_MIN_1_3);
	set_get(p, PROFILE_KEY_TLS_MIN, "1.2", "1.2");
	cr_assert_eq(p->tls_min, PROFILE_TLS_MIN_1_2);

	set_get(p, PROFILE_KEY_AUTH, "PLAIN", "plain");
	cr_assert_eq(p->auth, PROFILE_AUTH_PLAIN);
	set_get(p, PROFILE_KEY_AUTH, "Login", "login");
	cr_assert_eq(p->auth, PROFILE_AUTH_LOGIN);
	set_get(p, PROFILE_KEY_AUTH, "anonymous", "anonymous");
	cr_assert_eq(p->auth, PROFILE_AUTH_ANONYMOUS);
	set_get(p, PROFILE_KEY_AUTH, "none", "none");
	cr_assert_eq(p->auth, PROFILE_AUTH_NONE);
	profile_free(p);
}

Test(profile_enums, unknown_word_lists_the_options)
{
	struct profile *p = profile_new("gw");
	char *cause;

	cause = set_bad(p, PROFILE_KEY_TLS, "ssl");
	cr_assert_not_null(strstr(cause, "'ssl'"), "%s", cause);
	cr_assert_not_null(strstr(cause, "none"), "%s", cause);
	cr_assert_not_null(strstr(cause, "explicit"), "%s", cause);
	cr_assert_not_null(strstr(cause, "implicit"), "%s", cause);
	free(cause);

	cause = set_bad(p, PROFILE_KEY_AUTH, "cram-md5");
	cr_assert_str_eq(cause, "'cram-md5' is not one of none, plain, login "
	    "or anonymous");
	free(cause);

	cause = set_bad(p, PROFILE_KEY_STARTTLS, "");
	cr_assert_not_null(strstr(cause, "mandatory or optional"), "%s",
	    cause);
	free(cause);

	set_bad_says(p, PROFILE_KEY_TLS_MIN, "1.1", "1.2 or 1.3");
	set_bad_says(p, PROFILE_KEY_TLS_MIN, "1.2 ", "1.2 or 1.3");
	set_bad_says(p, PROFILE_KEY_TLS, "none\x1b", "\\x1b");
	set_bad_free(p, PROFILE_KEY_TLS, "2");
	profile_free(p);
}

/* Booleans. */

Test(profile_bools, words_accepted_and_refused)
{
	static const enum profile_key bools[] = {
		PROFILE_KEY_ACTIVE, PROFILE_KEY_VERIFY,
		PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS
	};
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE",
	    "Yes", "ON" };
	static const char *const no[] = { "false", "no", "off", "0", "FALSE",
	    "No", "Off" };

	for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
		struct profile *p = profile_new("gw");
		enum profile_key k = bools[i];

		for (size_t j = 0; j < sizeof yes / sizeof yes[0]; j++) {
			set_get(p, k, no[j], "false");
			set_get(p, k, yes[j], "true");
		}
		set_bad_says(p, k, "maybe", "'maybe'");
		set_bad_free(p, k, "");
		set_bad_free(p, k, "2");
		set_bad_free(p, k, "t");
		set_bad_free(p, k, " true");
		assert_get(p, k, "true");
		profile_free(p);
	}
}

/* fingerprint. */

Test(profile_fingerprint, forms)
{
	static const char hex[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct profile *p = profile_new("gw");
	char v[200], want[100], *colons, *o;

	snprintf(want, sizeof want, "sha256:%s", hex);
	set_get(p, PROFILE_KEY_FINGERPRINT, want, want);

	/* Upper case, prefix included, is stored in lower case. */
	snprintf(v, sizeof v, "SHA256:%s", hex);
	for (o = v + 7; *o; o++)
		if (*o >= 'a' && *o <= 'f')
			*o = (char)(*o - 'a' + 'A');
	set_get(p, PROFILE_KEY_FINGERPRINT, v, want);

	/* As openssl x509 -fingerprint prints it: AB:CD:... */
	colons = o = v + snprintf(v, sizeof v, "sha256:");
	for (size_t i = 0; i < 64; i += 2) {
		if (i > 0)
			*o++ = ':';
		*o++ = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
		*o++ = (char)(hex[i + 1] >= 'a' ? hex[i + 1] - 'a' + 'A' :
		    hex[i + 1]);
	}
	*o = '\0';
	cr_assert_eq(strlen(colons), 95);
	set_get(p, PROFILE_KEY_FINGERPRINT, v, want);
	profile_free(p);
}

Test(profile_fingerprint, refused)
{
	static const char hex[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct profile *p = profile_new("gw");
	char v[200], good[100];

	snprintf(good, sizeof good, "sha256:%s", hex);
	set_ok(p, PROFILE_KEY_FINGERPRINT, good);
	snprintf(v, sizeof v, "sha256:%.63s", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "64");
	snprintf(v, sizeof v, "sha256:%sa", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "64");
	snprintf(v, sizeof v, "sha256:%.63sg", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "hex");
	snprintf(v, sizeof v, "%s", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "sha256:");
	snprintf(v, sizeof v, "sha1:%s", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "sha256:");
	snprintf(v, sizeof v, "sha256: %s", hex);
	set_bad_says(p, PROFILE_KEY_FINGERPRINT, v, "hex");
	set_bad_free(p, PROFILE_KEY_FINGERPRINT, "sha256:");
	assert_get(p, PROFILE_KEY_FINGERPRINT, good);
	profile_free(p);
}

/* Other strings. */

Test(profile_strings, ca_file_must_be_absolute)
{
	struct profile *p = profile_new("gw");

	set_get(p, PROFILE_KEY_CA_FILE, "/etc/ssl/certs/ca.pem",
	    "/etc/ssl/certs/ca.pem");
	set_bad_says(p, PROFILE_KEY_CA_FILE, "ca.pem", "absolute");
	set_bad_says(p, PROFILE_KEY_CA_FILE, "./ca.pem", "absolute");
	set_bad_says(p, PROFILE_KEY_CA_FILE, "~/ca.pem", "absolute");
	set_bad_says(p, PROFILE_KEY_CA_FILE, "/etc/ca\n.pem", "control");
	set_get(p, PROFILE_KEY_CA_FILE, "", "");
	cr_assert_null(p->ca_file);
	profile_free(p);
}

Test(profile_strings, addresses)
{
	static const enum profile_key addr_keys[] = {
		PROFILE_KEY_FROM, PROFILE_KEY_TO
	};
	static const char *const ok[] = {
		"gw@example.com", "first.last+tag@mail.example.org",
		"x@y.example.", "o'brien@example.ie", "user@[192.0.2.1]",
		"user@[IPv6:2001:db8::1]", "user@[ipv6:::1]",
		"postmaster@localhost",
	};
	static const char *const bad[] = {
		"gw.example.com", "@example.com", "gw@", "g w@example.com",
		"gw@exa mple.com", "gw@bad_domain.example",
		"gw@-bad.example", ".gw@example.com", "gw.@example.com",
		"g..w@example.com", "<gw@example.com>", "gw@example..com",
		"a@b@example.com", "gw@[999.1.1.1]", "gw@[192.0.2.1",
		"\"gw\"@example.com", "gw@999.1.1.1", "gw@[::1]",
		"gw@[IPv6:192.0.2.1]", "gw@[]",
	};

	for (size_t i = 0; i < 2; i++) {
		struct profile *p = profile_new("gw");
		enum profile_key k = addr_keys[i];
		char *local64 = repeat("b", 64), *local65 = repeat("b", 65);
		char *dom = repeat("a", 59), v[300];

		for (size_t j = 0; j < sizeof ok / sizeof ok[0]; j++)
			set_get(p, k, ok[j], ok[j]);
		/* 64 + 1 + 63 = 128 characters. */
		snprintf(v, sizeof v, "%s@%s.com", local64, dom);
		cr_assert_eq(strlen(v), 128);
		set_get(p, k, v, v);
		snprintf(v, sizeof v, "%s@a%s.com", local64, dom);
		cr_assert_eq(strlen(v), 129);
		set_bad_says(p, k, v, "128");
		snprintf(v, sizeof v, "%s@example.com", local65);
		set_bad_says(p, k, v, "64");
		for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
			set_bad_free(p, k, bad[j]);
		set_bad_says(p, k, "gw.example.com", "@");
		set_bad_says(p, k, "gw@bad_domain.example", "domain");
		set_bad_says(p, k, "gw@example.com\r\nRCPT TO:<x@y>",
		    "control");
		set_get(p, k, "", "");
		cr_assert_not(profile_has(p, k));
		free(local64);
		free(local65);
		free(dom);
		profile_free(p);
	}
}

Test(profile_strings, trace_counts_characters)
{
	struct profile *p = profile_new("gw");
	char *e255 = repeat("\xc3\xa9", 255), *e256 = repeat("\xc3\xa9", 256);
	char *a255 = repeat("t", 255), *a256 = repeat("t", 256);

	set_get(p, PROFILE_KEY_TRACE, "anonymous gateway 7", "anonymous gateway 7");
	set_get(p, PROFILE_KEY_TRACE, e255, e255);
	set_get(p, PROFILE_KEY_TRACE, a255, a255);
	set_bad_says(p, PROFILE_KEY_TRACE, e256, "255");
	set_bad_says(p, PROFILE_KEY_TRACE, a256, "255");
	set_get(p, PROFILE_KEY_TRACE, "ops@example.com", "ops@example.com");
	set_bad_free(p, PROFILE_KEY_TRACE, "ops@");
	set_bad_free(p, PROFILE_KEY_TRACE, "o ps@example.com");
	set_bad_free(p, PROFILE_KEY_TRACE, "ops@bad_host");
	set_bad_says(p, PROFILE_KEY_TRACE, "tab\there", "control");
	set_bad_says(p, PROFILE_KEY_TRACE, "\xe9t\xe9", "UTF-8");
	set_get(p, PROFILE_KEY_TRACE, "", "");
	cr_assert_null(p->trace);
	free(e255);
	free(e256);
	free(a255);
	free(a256);
	profile_free(p);
}

Test(profile_strings, username_length)
{
	struct profile *p = profile_new("gw");
	char *u255 = repeat("u", 255), *u256 = repeat("u", 256);
	char *e255 = repeat("\xc3\xa9", 255);

	set_get(p, PROFILE_KEY_USERNAME, "gw@example.com", "gw@example.com");
	set_get(p, PROFILE_KEY_USERNAME, u255, u255);
	set_get(p, PROFILE_KEY_USERNAME, e255, e255);
	set_bad_says(p, PROFILE_KEY_USERNAME, u256, "255");
	set_bad_says(p, PROFILE_KEY_USERNAME, "us\ner", "control");
	set_bad_says(p, PROFILE_KEY_USERNAME, "us\xc3", "UTF-8");
	free(u255);
	free(u256);
	free(e255);
	profile_free(p);
}

Test(profile_strings, password_length_and_control_characters)
{
	struct profile *p = profile_new("gw");
	char *p1024 = repeat("p", 1024), *p1025 = repeat("p", 1025);
	const char *odd = "s3cr\x01t\twith\x1b[ctl] and spaces\x7f";

	set_get(p, PROFILE_KEY_PASSWORD, p1024, p1024);
	set_bad_says(p, PROFILE_KEY_PASSWORD, p1025, "1024");
	set_get(p, PROFILE_KEY_PASSWORD, odd, odd);
	set_bad_says(p, PROFILE_KEY_PASSWORD, "pass\xff", "UTF-8");
	/* A refused password must not appear in the reason. */
	{
		char *cause = set_bad(p, PROFILE_KEY_PASSWORD, p1025);

		cr_assert_null(strstr(cause, "pppppppp"), "%s", cause);
		free(cause);
	}
	set_get(p, PROFILE_KEY_PASSWORD, "", "");
	cr_assert_null(p->password);
	free(p1024);
	free(p1025);
	profile_free(p);
}

Test(profile_strings, comment_length_and_no_control)
{
	struct profile *p = profile_new("gw");
	char *c80 = repeat("c", 80), *c81 = repeat("c", 81);
	char *e80 = repeat("\xc3\xa9", 80), *e81 = repeat("\xc3\xa9", 81);

	set_get(p, PROFILE_KEY_COMMENT, "Main relay (Frankfurt) \xe2\x82\xac",
	    "Main relay (Frankfurt) \xe2\x82\xac");
	set_get(p, PROFILE_KEY_COMMENT, c80, c80);
	set_get(p, PROFILE_KEY_COMMENT, e80, e80);
	set_bad_says(p, PROFILE_KEY_COMMENT, c81, "80");
	set_bad_says(p, PROFILE_KEY_COMMENT, e81, "80");
	set_bad_says(p, PROFILE_KEY_COMMENT, "a\x1b[31mred", "control");
	set_bad_says(p, PROFILE_KEY_COMMENT, "two\nlines", "control");
	set_bad_says(p, PROFILE_KEY_COMMENT, "tab\t", "control");
	set_bad_says(p, PROFILE_KEY_COMMENT, "del\x7f", "control");
	assert_get(p, PROFILE_KEY_COMMENT, e80);
	free(c80);
	free(c81);
	free(e80);
	free(e81);
	profile_free(p);
}

Test(profile_strings, invalid_utf8_refused_everywhere)
{
	static const char *const bad[] = {
		"x\xff", "x\xc3", "x\xc0\xaf", "x\xed\xa0\x80",
		"x\xf4\x90\x80\x80"
	};

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		struct profile *p = profile_new("gw");

		for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
			set_bad_free(p, k, bad[j]);
		profile_free(p);
	}
}

Test(profile_strings, empty_unsets_optional_strings)
{
#define O(f) offsetof(struct profile, f)
	static const struct {
		enum profile_key	 key;
		size_t			 off;
		const char		*value;
	} opt[] = {
		{ PROFILE_KEY_CA_FILE, O(ca_file), "/etc/ssl/ca.pem" },
		{ PROFILE_KEY_FINGERPRINT, O(fingerprint), "sha256:0123456789"
		    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ PROFILE_KEY_USERNAME, O(username), "user" },
		{ PROFILE_KEY_PASSWORD, O(password), "pw" },
		{ PROFILE_KEY_TRACE, O(trace), "trace" },
		{ PROFILE_KEY_FROM, O(from), "a@example.com" },
		{ PROFILE_KEY_TO, O(to), "b@example.com" },
		{ PROFILE_KEY_HELO, O(helo), "gw.example.com" },
		{ PROFILE_KEY_COMMENT, O(comment), "note" },
	};
#undef O
	struct profile *p = profile_new("gw");

	set_ok(p, PROFILE_KEY_HOST, "smtp.example.com");
	for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
		char **field = (char **)((char *)p + opt[i].off);

		set_get(p, opt[i].key, opt[i].value, opt[i].value);
		cr_assert_not_null(*field);
		cr_assert(profile_has(p, opt[i].key));
		set_get(p, opt[i].key, "", "");
		cr_assert_null(*field, "%s is not NULL after \"\"",
		    kname(opt[i].key));
		cr_assert_not(profile_has(p, opt[i].key), "%s",
		    kname(opt[i].key));
	}
	set_bad_says(p, PROFILE_KEY_NAME, "", "empty");
	set_bad_says(p, PROFILE_KEY_HOST, "", "empty");
	cr_assert_str_eq(p->name, "gw");
	cr_assert_str_eq(p->host, "smtp.example.com");
	profile_free(p);
}

/* A non-default value for every key, in its canonical text form. */
static const char *const other[PROFILE_KEY_COUNT] = {
	[PROFILE_KEY_NAME] = "relay-2",
	[PROFILE_KEY_ACTIVE] = "false",
	[PROFILE_KEY_HOST] = "mx.example.net",
	[PROFILE_KEY_PORT] = "2525",
	[PROFILE_KEY_ALT_HOSTS] = "b1.example:26,[2001:db8::2]",
	[PROFILE_KEY_TLS] = "explicit",
	[PROFILE_KEY_STARTTLS] = "optional",
	[PROFILE_KEY_VERIFY] = "false",
	[PROFILE_KEY_CA_FILE] = "/etc/gwsmtp/ca.pem",
	[PROFILE_KEY_FINGERPRINT] = "sha256:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	[PROFILE_KEY_TLS_MIN] = "1.3",
	[PROFILE_KEY_AUTH] = "login",
	[PROFILE_KEY_USERNAME] = "gateway",
	[PROFILE_KEY_PASSWORD] = "s3cret \xc3\xa9",
	[PROFILE_KEY_TRACE] = "gw-trace",
	[PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS] = "true",
	[PROFILE_KEY_FROM] = "gw@example.net",
	[PROFILE_KEY_TO] = "ops@example.net",
	[PROFILE_KEY_HELO] = "gw1.example.net",
	[PROFILE_KEY_TIMEOUT] = "120",
	[PROFILE_KEY_RETRIES] = "0",
	[PROFILE_KEY_RETRY_DELAY] = "30",
	[PROFILE_KEY_RETRY_MAX] = "3600",
	[PROFILE_KEY_MAX_CONNECTIONS] = "4",
	[PROFILE_KEY_COMMENT] = "backup relay",
};

Test(profile_roundtrip, every_key_non_default)
{
	struct profile *p = profile_new("gw"), *q = profile_new("x");
	bool changed[PROFILE_KEY_COUNT];

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		char *def = profile_get(p, k);

		cr_assert_str_neq(def, other[i], "%s: test value is the "
		    "default", kname(k));
		free(def);
		set_get(p, k, other[i], other[i]);
		cr_assert(profile_has(p, k));
	}
	/* Feeding every profile_get() output to profile_set() copies it. */
	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		char *v = profile_get(p, (enum profile_key)i);

		set_ok(q, (enum profile_key)i, v);
		free(v);
	}
	cr_assert_eq(profile_diff(p, q, changed), 0);
	profile_free(p);
	profile_free(q);
}

/* Validation. */

static void
assert_diag(const struct diag_list *l, size_t i, const char *profile,
    const char *key, const char *needle)
{
	cr_assert_lt(i, l->n);
	if (profile == NULL)
		cr_assert_null(l->v[i].profile);
	else
		cr_assert_str_eq(l->v[i].profile, profile);
	cr_assert_str_eq(l->v[i].key, key);
	cr_assert_eq(l->v[i].line, 0);
	cr_assert_eq(l->v[i].column, 0);
	cr_assert_not_null(l->v[i].reason);
	if (needle != NULL)
		cr_assert_not_null(strstr(l->v[i].reason, needle),
		    "reason \"%s\" lacks \"%s\"", l->v[i].reason, needle);
}

Test(profile_validate, good_profile_passes)
{
	struct profile *p = good_profile();
	struct diag_list l = { 0 };

	cr_assert_eq(profile_validate(p, &l), 0);
	cr_assert_eq(l.n, 0);
	profile_free(p);
}

Test(profile_validate, host_missing)
{
	struct profile *p = profile_new("gw");
	struct diag_list l = { 0 };

	cr_assert_eq(profile_validate(p, &l), 1);
	assert_diag(&l, 0, "gw", "host", "missing");
	diag_list_clear(&l);
	profile_free(p);
}

Test(profile_validate, name_missing_or_bad)
{
	struct profile *p = profile_new(NULL);
	struct diag_list l = { 0 };

	set_ok(p, PROFILE_KEY_HOST, "smtp.example.com");
	cr_assert_eq(profile_validate(p, &l), 1);
	assert_diag(&l, 0, NULL, "name", "missing");
	diag_list_clear(&l);

	/* A name filled in directly, bypassing profile_set(). */
	p->name = strdup("bad name");
	cr_assert_eq(profile_validate(p, &l), 1);
	assert_diag(&l, 0, NULL, "name", "space");
	diag_list_clear(&l);

	free(p->host);
	p->host = NULL;
	free(p->name);
	p->name = NULL;
	cr_assert_eq(profile_validate(p, &l), 2);
	assert_diag(&l, 0, NULL, "name", "missing");
	assert_diag(&l, 1, NULL, "host", "missing");
	diag_list_clear(&l);
	profile_free(p);
}

Test(profile_validate, plain_and_login_need_username_and_password)
{
	static const char *const mechs[] = { "plain", "login" };

	for (size_t i = 0; i < 2; i++) {
		struct profile *p = good_profile();
		struct diag_list l = { 0 };

		set_ok(p, PROFILE_KEY_AUTH, mechs[i]);
		cr_assert_eq(profile_validate(p, &l), 2, "%s", mechs[i]);
		assert_diag(&l, 0, "gw", "username", mechs[i]);
		assert_diag(&l, 1, "gw", "password", mechs[i]);
		diag_list_clear(&l);

		set_ok(p, PROFILE_KEY_USERNAME, "gw-user");
		cr_assert_eq(profile_validate(p, &l), 1);
		assert_diag(&l, 0, "gw", "password", "required");
		diag_list_clear(&l);

		set_ok(p, PROFILE_KEY_USERNAME, "");
		set_ok(p, PROFILE_KEY_PASSWORD, "pw");
		cr_assert_eq(profile_validate(p, &l), 1);
		assert_diag(&l, 0, "gw", "username", "required");
		diag_list_clear(&l);

		set_ok(p, PROFILE_KEY_USERNAME, "gw-user");
		cr_assert_eq(profile_validate(p, &l), 0);
		profile_free(p);
	}
}

Test(profile_validate, plain_without_tls)
{
	static const char *const mechs[] = { "plain", "login" };

	for (size_t i = 0; i < 2; i++) {
		struct profile *p = good_profile();
		struct diag_list l = { 0 };

		set_ok(p, PROFILE_KEY_AUTH, mechs[i]);
		set_ok(p, PROFILE_KEY_USERNAME, "u");
		set_ok(p, PROFILE_KEY_PASSWORD, "pw");
		set_ok(p, PROFILE_KEY_TLS, "none");
		cr_assert_eq(profile_validate(p, &l), 1, "%s", mechs[i]);
		assert_diag(&l, 0, "gw", "auth",
		    "allow_plain_auth_without_tls");
		diag_list_clear(&l);

		set_ok(p, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS, "true");
		cr_assert_eq(profile_validate(p, &l), 0);

		set_ok(p, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS, "false");
		set_ok(p, PROFILE_KEY_TLS, "explicit");
		cr_assert_eq(profile_validate(p, &l), 0);
		set_ok(p, PROFILE_KEY_STARTTLS, "optional");
		cr_assert_eq(profile_validate(p, &l), 0);
		profile_free(p);
	}
}

Test(profile_validate, anonymous_and_none_need_nothing)
{
	static const char *const mechs[] = { "anonymous", "none" };

	for (size_t i = 0; i < 2; i++) {
		struct profile *p = good_profile();
		struct diag_list l = { 0 };

		set_ok(p, PROFILE_KEY_AUTH, mechs[i]);
		set_ok(p, PROFILE_KEY_TLS, "none");
		cr_assert_eq(profile_validate(p, &l), 0, "%s", mechs[i]);
		profile_free(p);
	}
}

Test(profile_validate, retry_max_below_retry_delay)
{
	struct profile *p = good_profile();
	struct diag_list l = { 0 };

	set_ok(p, PROFILE_KEY_RETRY_DELAY, "600");
	set_ok(p, PROFILE_KEY_RETRY_MAX, "599");
	cr_assert_eq(profile_validate(p, &l), 1);
	assert_diag(&l, 0, "gw", "retry_max", "retry_delay");
	diag_list_clear(&l);
	set_ok(p, PROFILE_KEY_RETRY_MAX, "600");
	cr_assert_eq(profile_validate(p, &l), 0);
	profile_free(p);
}

Test(profile_validate, counts_add_to_an_existing_list)
{
	struct profile *p = profile_new("gw");
	struct diag_list l = { 0 };

	diag_add(&l, 4, 2, "other", "port", "earlier problem");
	set_ok(p, PROFILE_KEY_AUTH, "plain");
	set_ok(p, PROFILE_KEY_TLS, "none");
	set_ok(p, PROFILE_KEY_RETRY_MAX, "1");
	/* host, username, password, auth over plain text, retry_max. */
	cr_assert_eq(profile_validate(p, &l), 5);
	cr_assert_eq(l.n, 6);
	assert_diag(&l, 1, "gw", "host", NULL);
	assert_diag(&l, 2, "gw", "username", NULL);
	assert_diag(&l, 3, "gw", "password", NULL);
	assert_diag(&l, 4, "gw", "auth", NULL);
	assert_diag(&l, 5, "gw", "retry_max", NULL);
	cr_assert_str_eq(l.v[0].reason, "earlier problem");
	diag_list_clear(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
	profile_free(p);
}

Test(profile_validate, partial_allows_password_elsewhere)
{
	struct profile *p = good_profile();
	struct diag_list l = { 0 };

	set_ok(p, PROFILE_KEY_AUTH, "plain");
	cr_assert_eq(profile_validate_partial(p, true, &l), 1);
	assert_diag(&l, 0, "gw", "username", NULL);
	diag_list_clear(&l);
	cr_assert_eq(profile_validate_partial(p, false, &l), 2);
	diag_list_clear(&l);
	set_ok(p, PROFILE_KEY_USERNAME, "u");
	cr_assert_eq(profile_validate_partial(p, true, &l), 0);
	cr_assert_eq(profile_validate(p, &l), 1);
	assert_diag(&l, 0, "gw", "password", NULL);
	diag_list_clear(&l);
	profile_free(p);
}

/* Diff. */

Test(profile_diff, identical_profiles)
{
	struct profile *a = good_profile(), *b;
	bool changed[PROFILE_KEY_COUNT];

	set_ok(a, PROFILE_KEY_ALT_HOSTS, "x.example,y.example");
	set_ok(a, PROFILE_KEY_COMMENT, "c");
	b = profile_dup(a);
	b->revision = 42;	/* not a key */
	memset(changed, 1, sizeof changed);
	cr_assert_eq(profile_diff(a, b, changed), 0);
	for (int i = 0; i < PROFILE_KEY_COUNT; i++)
		cr_assert_not(changed[i], "%s", kname((enum profile_key)i));
	profile_free(a);
	profile_free(b);
}

Test(profile_diff, each_key_alone)
{
	struct profile *base = good_profile();

	for (int i = 0; i < PROFILE_KEY_COUNT; i++) {
		enum profile_key k = (enum profile_key)i;
		struct profile *b = profile_dup(base);
		bool changed[PROFILE_KEY_COUNT];

		set_ok(b, k, other[i]);
		memset(changed, 0, sizeof changed);
		cr_assert_eq(profile_diff(base, b, changed), 1, "%s",
		    kname(k));
		for (int j = 0; j < PROFILE_KEY_COUNT; j++)
			cr_assert_eq(changed[j], j == i, "changing %s flags %s",
			    kname(k), kname((enum profile_key)j));
		/* Symmetric. */
		cr_assert_eq(profile_diff(b, base, changed), 1);
		cr_assert(changed[i]);
		profile_free(b);
	}
	profile_free(base);
}

Test(profile_diff, set_versus_unset_and_list_order)
{
	struct profile *a = good_profile(), *b = good_profile();
	bool changed[PROFILE_KEY_COUNT];

	set_ok(a, PROFILE_KEY_ALT_HOSTS, "a.example,b.example");
	set_ok(b, PROFILE_KEY_ALT_HOSTS, "b.example,a.example");
	cr_assert_eq(profile_diff(a, b, changed), 1);
	cr_assert(changed[PROFILE_KEY_ALT_HOSTS]);
	set_ok(b, PROFILE_KEY_ALT_HOSTS, "a.example");
	cr_assert_eq(profile_diff(a, b, changed), 1);
	cr_assert(changed[PROFILE_KEY_ALT_HOSTS]);
	set_ok(b, PROFILE_KEY_ALT_HOSTS, "a.example, b.example");
	cr_assert_eq(profile_diff(a, b, changed), 0);

	/* "" is unset, which differs from any value. */
	set_ok(a, PROFILE_KEY_COMMENT, "x");
	cr_assert_eq(profile_diff(a, b, changed), 1);
	cr_assert(changed[PROFILE_KEY_COMMENT]);
	set_ok(a, PROFILE_KEY_COMMENT, "");
	cr_assert_eq(profile_diff(a, b, changed), 0);

	set_ok(a, PROFILE_KEY_PORT, "26");
	set_ok(a, PROFILE_KEY_TO, "x@example.com");
	cr_assert_eq(profile_diff(a, b, changed), 2);
	cr_assert(changed[PROFILE_KEY_PORT]);
	cr_assert(changed[PROFILE_KEY_TO]);
	profile_free(a);
	profile_free(b);
}

/* TLS mode and port. */

static void
change_tls(struct profile *p, const char *tls)
{
	enum profile_tls old = p->tls;

	set_ok(p, PROFILE_KEY_TLS, tls);
	profile_tls_changed(p, old);
}

Test(profile_tls, port_at_default_follows_mode)
{
	struct profile *p = profile_new("gw");

	cr_assert_eq(p->port, 465);
	change_tls(p, "explicit");
	cr_assert_eq(p->port, 587);
	change_tls(p, "none");
	cr_assert_eq(p->port, 25);
	change_tls(p, "implicit");
	cr_assert_eq(p->port, 465);
	change_tls(p, "none");
	cr_assert_eq(p->port, 25);
	change_tls(p, "explicit");
	cr_assert_eq(p->port, 587);
	change_tls(p, "explicit");
	cr_assert_eq(p->port, 587);
	profile_free(p);
}

Test(profile_tls, typed_port_stays)
{
	struct profile *p = profile_new("gw");

	set_ok(p, PROFILE_KEY_PORT, "2525");
	change_tls(p, "explicit");
	cr_assert_eq(p->port, 2525);
	change_tls(p, "none");
	cr_assert_eq(p->port, 2525);
	change_tls(p, "implicit");
	cr_assert_eq(p->port, 2525);

	/* 587 is explicit's default, not implicit's: chosen, so kept. */
	set_ok(p, PROFILE_KEY_PORT, "587");
	change_tls(p, "none");
	cr_assert_eq(p->port, 587);
	profile_free(p);
}

/* Ownership. */

Test(profile_dup, deep_copy_outlives_original)
{
	struct profile *p = profile_new("gw"), *q;
	bool changed[PROFILE_KEY_COUNT];

	for (int i = 0; i < PROFILE_KEY_COUNT; i++)
		set_ok(p, (enum profile_key)i, other[i]);
	p->revision = 7;
	q = profile_dup(p);
	cr_assert_eq(profile_diff(p, q, changed), 0);
	cr_assert_eq(q->revision, 7);
	cr_assert_neq(q->name, p->name);
	cr_assert_neq(q->host, p->host);
	cr_assert_neq(q->password, p->password);
	cr_assert_neq(q->alt_hosts[0], p->alt_hosts[0]);
	/* Scribble over the original before freeing it. */
	p->host[0] = 'X';
	p->alt_hosts[0][0] = 'X';
	profile_free(p);
	/* Under ASan, a shallow copy is a use after free here. */
	for (int i = 0; i < PROFILE_KEY_COUNT; i++)
		assert_get(q, (enum profile_key)i, other[i]);
	profile_free(q);
}

Test(profile_dup, copy_of_new_profile)
{
	struct profile *p = profile_new(NULL), *q = profile_dup(p);
	bool changed[PROFILE_KEY_COUNT];

	cr_assert_eq(profile_diff(p, q, changed), 0);
	cr_assert_null(q->name);
	profile_free(p);
	set_ok(q, PROFILE_KEY_NAME, "later");
	profile_free(q);
}

/* Global settings. */

Test(settings, keys)
{
	static const char *const names[SETTINGS_KEY_COUNT] = {
		"enabled", "default_profile", "subject_params",
		"subject_delimiter"
	};
	enum settings_key k;

	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		cr_assert_str_eq(settings_key_name((enum settings_key)i),
		    names[i]);
		cr_assert_eq(settings_key_lookup(names[i], &k), 0);
		cr_assert_eq((int)k, i);
	}
	cr_assert_eq(settings_key_lookup("delimiter", &k), -1);
	cr_assert_str_eq(settings_key_name(SETTINGS_KEY_COUNT), "?");
	cr_assert_eq(settings_key_type(SETTINGS_KEY_ENABLED), PROFILE_TYPE_BOOL);
	cr_assert_eq(settings_key_type(SETTINGS_KEY_SUBJECT_PARAMS),
	    PROFILE_TYPE_BOOL);
	cr_assert_eq(settings_key_type(SETTINGS_KEY_DEFAULT_PROFILE),
	    PROFILE_TYPE_STRING);
	cr_assert_eq(settings_key_type(SETTINGS_KEY_SUBJECT_DELIMITER),
	    PROFILE_TYPE_STRING);
}

static void
settings_ok(struct smtp_settings *s, enum settings_key k, const char *v,
    const char *want)
{
	char *cause = NULL, *got;

	cr_assert_eq(settings_set(s, k, v, &cause), 0, "%s=\"%s\": %s",
	    settings_key_name(k), v, cause ? cause : "");
	cr_assert_null(cause);
	got = settings_get(s, k);
	cr_assert_str_eq(got, want, "%s", settings_key_name(k));
	free(got);
}

static void
settings_bad(struct smtp_settings *s, enum settings_key k, const char *v,
    const char *needle)
{
	struct smtp_settings before;
	bool changed[SETTINGS_KEY_COUNT];
	char *cause = NULL;

	settings_copy(&before, s);
	cr_assert_eq(settings_set(s, k, v, &cause), -1, "%s=\"%s\" accepted",
	    settings_key_name(k), v);
	cr_assert_not_null(cause);
	if (needle != NULL)
		cr_assert_not_null(strstr(cause, needle), "cause \"%s\" lacks "
		    "\"%s\"", cause, needle);
	cr_assert_eq(settings_diff(&before, s, changed), 0,
	    "refused %s changed the settings", settings_key_name(k));
	free(cause);
	settings_clear(&before);
}

Test(settings, defaults)
{
	struct smtp_settings s;
	char *v;

	settings_init(&s);
	cr_assert_eq(s.enabled, true);
	cr_assert_null(s.default_profile);
	cr_assert_eq(s.subject_params, false);
	cr_assert_str_eq(s.subject_delimiter, "//XFB");
	cr_assert_str_eq(SETTINGS_DEFAULT_DELIMITER, "//XFB");
	v = settings_get(&s, SETTINGS_KEY_ENABLED);
	cr_assert_str_eq(v, "true");
	free(v);
	v = settings_get(&s, SETTINGS_KEY_DEFAULT_PROFILE);
	cr_assert_str_eq(v, "");
	free(v);
	v = settings_get(&s, SETTINGS_KEY_SUBJECT_PARAMS);
	cr_assert_str_eq(v, "false");
	free(v);
	v = settings_get(&s, SETTINGS_KEY_SUBJECT_DELIMITER);
	cr_assert_str_eq(v, "//XFB");
	free(v);
	settings_clear(&s);
	cr_assert_null(s.subject_delimiter);
}

Test(settings, set_and_get_each_key)
{
	struct smtp_settings s;

	settings_init(&s);
	settings_ok(&s, SETTINGS_KEY_ENABLED, "off", "false");
	cr_assert_eq(s.enabled, false);
	settings_ok(&s, SETTINGS_KEY_ENABLED, "YES", "true");
	settings_ok(&s, SETTINGS_KEY_SUBJECT_PARAMS, "1", "true");
	cr_assert_eq(s.subject_params, true);
	settings_ok(&s, SETTINGS_KEY_SUBJECT_PARAMS, "false", "false");
	settings_ok(&s, SETTINGS_KEY_DEFAULT_PROFILE, "relay-1", "relay-1");
	cr_assert_str_eq(s.default_profile, "relay-1");
	settings_ok(&s, SETTINGS_KEY_DEFAULT_PROFILE, "", "");
	cr_assert_null(s.default_profile);
	settings_ok(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "##", "##");
	settings_ok(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "x", "x");
	settings_ok(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "0123456789abcdef",
	    "0123456789abcdef");
	/* Sixteen characters, 32 bytes. */
	settings_ok(&s, SETTINGS_KEY_SUBJECT_DELIMITER,
	    "\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7"
	    "\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7",
	    "\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7"
	    "\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7");
	settings_clear(&s);
}

Test(settings, refused_values)
{
	struct smtp_settings s;
	char *n32 = repeat("n", 32);

	settings_init(&s);
	settings_ok(&s, SETTINGS_KEY_DEFAULT_PROFILE, "gw", "gw");
	settings_bad(&s, SETTINGS_KEY_ENABLED, "maybe", "'maybe'");
	settings_bad(&s, SETTINGS_KEY_ENABLED, "", NULL);
	settings_bad(&s, SETTINGS_KEY_SUBJECT_PARAMS, "2", NULL);
	settings_bad(&s, SETTINGS_KEY_DEFAULT_PROFILE, "bad name", "space");
	settings_bad(&s, SETTINGS_KEY_DEFAULT_PROFILE, "a/b", "'/'");
	settings_bad(&s, SETTINGS_KEY_DEFAULT_PROFILE, n32, "31");
	settings_bad(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "", "empty");
	settings_bad(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "0123456789abcdefg",
	    "16");
	settings_bad(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "a\nb", NULL);
	settings_bad(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "\x1b[2J", NULL);
	settings_bad(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "\xff", NULL);
	cr_assert_str_eq(s.default_profile, "gw");
	cr_assert_str_eq(s.subject_delimiter, "//XFB");
	cr_assert_eq(s.enabled, true);
	free(n32);
	settings_clear(&s);
}

Test(settings, diff_and_copy)
{
	struct smtp_settings a, b;
	bool changed[SETTINGS_KEY_COUNT];
	char *cause = NULL;

	settings_init(&a);
	settings_copy(&b, &a);
	memset(changed, 1, sizeof changed);
	cr_assert_eq(settings_diff(&a, &b, changed), 0);
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++)
		cr_assert_not(changed[i]);

	static const char *const vals[SETTINGS_KEY_COUNT] = {
		"false", "gw", "true", "::"
	};
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		struct smtp_settings c;

		settings_copy(&c, &a);
		cr_assert_eq(settings_set(&c, (enum settings_key)i, vals[i],
		    &cause), 0);
		cr_assert_eq(settings_diff(&a, &c, changed), 1, "%s",
		    settings_key_name((enum settings_key)i));
		for (int j = 0; j < SETTINGS_KEY_COUNT; j++)
			cr_assert_eq(changed[j], j == i);
		settings_clear(&c);
	}

	/* The copy is deep. */
	cr_assert_eq(settings_set(&a, SETTINGS_KEY_DEFAULT_PROFILE, "gw",
	    &cause), 0);
	settings_clear(&b);
	settings_copy(&b, &a);
	cr_assert_neq(b.default_profile, a.default_profile);
	cr_assert_neq(b.subject_delimiter, a.subject_delimiter);
	settings_clear(&a);
	cr_assert_str_eq(b.default_profile, "gw");
	cr_assert_str_eq(b.subject_delimiter, "//XFB");
	settings_clear(&b);
}

/* diag. */

static void
assert_format(int line, int col, const char *profile, const char *key,
    const char *source, const char *want)
{
	struct diag d = { line, col, (char *)profile, (char *)key,
	    (char *)"port must be 1-65535" };
	char *got = diag_format(&d, source);

	cr_assert_str_eq(got, want);
	free(got);
}

Test(diag, format_forms)
{
	assert_format(3, 7, "gw", "port", "gw.json",
	    "gw.json:3:7: profile 'gw': port: port must be 1-65535");
	assert_format(3, 0, "gw", "port", "gw.json",
	    "gw.json:3: profile 'gw': port: port must be 1-65535");
	assert_format(0, 0, "gw", "port", "gw.json",
	    "gw.json: profile 'gw': port: port must be 1-65535");
	assert_format(0, 0, "gw", "port", NULL,
	    "profile 'gw': port: port must be 1-65535");
	assert_format(3, 7, "gw", "port", NULL,
	    "3:7: profile 'gw': port: port must be 1-65535");
	assert_format(3, 0, NULL, "port", NULL,
	    "3: port: port must be 1-65535");
	assert_format(3, 7, NULL, "port", "msmtprc",
	    "msmtprc:3:7: port: port must be 1-65535");
	assert_format(3, 7, "gw", NULL, "msmtprc",
	    "msmtprc:3:7: profile 'gw': port must be 1-65535");
	assert_format(0, 0, NULL, NULL, NULL, "port must be 1-65535");
	assert_format(0, 0, NULL, NULL, "f", "f: port must be 1-65535");
	assert_format(1, 0, NULL, NULL, "f", "f:1: port must be 1-65535");
	assert_format(1, 1, NULL, NULL, "f", "f:1:1: port must be 1-65535");
	/* A column without a line is no location. */
	assert_format(0, 5, NULL, "port", NULL, "port: port must be 1-65535");
}

Test(diag, add_locate_clear)
{
	struct diag_list l = { 0 };
	char *s;

	for (int i = 0; i < 20; i++)
		diag_add(&l, 0, 0, i % 2 ? "gw" : NULL, "host", "problem %d", i);
	cr_assert_eq(l.n, 20);
	cr_assert_str_eq(l.v[19].reason, "problem 19");
	cr_assert_str_eq(l.v[19].profile, "gw");
	cr_assert_null(l.v[18].profile);
	l.v[15].line = 99;
	diag_locate(&l, 10, 4, 2);
	cr_assert_eq(l.v[9].line, 0, "entries before 'from' stay");
	cr_assert_eq(l.v[10].line, 4);
	cr_assert_eq(l.v[10].column, 2);
	cr_assert_eq(l.v[15].line, 99, "a located entry keeps its place");
	cr_assert_eq(l.v[19].line, 4);
	s = diag_format(&l.v[11], "in.json");
	cr_assert_str_eq(s, "in.json:4:2: profile 'gw': host: problem 11");
	free(s);
	diag_list_clear(&l);
	cr_assert_eq(l.n, 0);
	diag_list_clear(&l);
}
