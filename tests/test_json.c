/*
 * tests/test_json.c: the JSON profile file: reading (values, defaults, every
 * error class with its line and column) and writing (format, key order,
 * secrets, export then import being the identity).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "core/profile_file.h"

/* Helpers. */

struct loc {
	int	 line;
	int	 column;
};

/* Line and column (bytes, 1-based) of the n-th (0-based) needle in text. */
static struct loc
nth_at(const char *text, const char *needle, int n)
{
	const char *p = text, *s;
	struct loc l = { 1, 1 };

	for (;;) {
		p = strstr(p, needle);
		cr_assert_not_null(p, "'%s' not in the test input", needle);
		if (n-- == 0)
			break;
		p++;
	}
	for (s = text; s < p; s++) {
		if (*s == '\n') {
			l.line++;
			l.column = 1;
		} else
			l.column++;
	}
	return l;
}

static struct loc
at(const char *text, const char *needle)
{
	return nth_at(text, needle, 0);
}

static int
read_json(const char *text, size_t len, struct profile_file *f,
    struct diag_list *errs)
{
	profile_file_init(f);
	memset(errs, 0, sizeof *errs);
	return profile_json_read(text, len, f, errs);
}

/* Reads text that must be valid; f is the caller's to clear. */
static void
read_ok(const char *text, struct profile_file *f)
{
	struct diag_list errs;
	int rc = read_json(text, strlen(text), f, &errs);

	if (rc != 0 || errs.n != 0) {
		for (size_t i = 0; i < errs.n; i++) {
			char *s = diag_format(&errs.v[i], NULL);

			cr_log_error("%s", s);
			free(s);
		}
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(errs.n, 0);
	diag_list_clear(&errs);
}

/* Reads text that must fail; returns its errors (caller clears). */
static void
read_bad_len(const char *text, size_t len, struct diag_list *errs)
{
	struct profile_file f;
	int rc = read_json(text, len, &f, errs);

	cr_assert_eq(rc, -1);
	cr_assert_gt(errs->n, 0);
	profile_file_clear(&f);
}

static void
read_bad(const char *text, struct diag_list *errs)
{
	read_bad_len(text, strlen(text), errs);
}

static void
check_diag(const struct diag *d, struct loc l, const char *profile,
    const char *key, const char *reason)
{
	char *s = diag_format(d, NULL);

	cr_expect_eq(d->line, l.line, "line %d, want %d: %s", d->line, l.line,
	    s);
	cr_expect_eq(d->column, l.column, "column %d, want %d: %s", d->column,
	    l.column, s);
	if (profile == NULL)
		cr_expect_null(d->profile, "%s", s);
	else
		cr_expect_str_eq(d->profile ? d->profile : "(null)", profile,
		    "%s", s);
	if (key == NULL)
		cr_expect_null(d->key, "%s", s);
	else
		cr_expect_str_eq(d->key ? d->key : "(null)", key, "%s", s);
	cr_expect_str_eq(d->reason, reason);
	free(s);
}

/* text must fail with exactly this one error. */
static void
expect_one(const char *text, struct loc l, const char *profile,
    const char *key, const char *reason)
{
	struct diag_list errs;

	read_bad(text, &errs);
	for (size_t i = 0; i < errs.n; i++) {
		char *s = diag_format(&errs.v[i], NULL);

		cr_log_info("%s", s);
		free(s);
	}
	cr_assert_eq(errs.n, 1, "%zu errors, want 1", errs.n);
	check_diag(&errs.v[0], l, profile, key, reason);
	diag_list_clear(&errs);
}

/* What profile_set() says of this value: the reason the reader must give. */
static char *
set_cause(enum profile_key k, const char *value)
{
	struct profile *p = profile_new(NULL);
	char *cause = NULL;

	cr_assert_eq(profile_set(p, k, value, &cause), -1);
	profile_free(p);
	return cause;
}

static char *
settings_cause(enum settings_key k, const char *value)
{
	struct smtp_settings s;
	char *cause = NULL;

	settings_init(&s);
	cr_assert_eq(settings_set(&s, k, value, &cause), -1);
	settings_clear(&s);
	return cause;
}

static char *
export_text(struct profile *const *v, size_t n, const struct smtp_settings *s,
    enum profile_secret_mode mode)
{
	char *buf = NULL, *cause = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	cr_assert_eq(profile_json_export(fp, v, n, s, mode, &cause), 0,
	    "%s", cause ? cause : "");
	fclose(fp);
	return buf;
}

static void
set(struct profile *p, enum profile_key k, const char *v)
{
	char *cause = NULL;

	cr_assert_eq(profile_set(p, k, v, &cause), 0, "%s=%s: %s",
	    profile_key_name(k), v, cause ? cause : "");
}

/* A profile with every key away from its default. */
static struct profile *
full_profile(void)
{
	struct profile *p = profile_new("full.profile_1");
	const char *alts[] = { "b.example.net:2525", "[2001:db8::1]:25",
	    "192.0.2.7" };
	char *cause = NULL;

	set(p, PROFILE_KEY_ACTIVE, "false");
	set(p, PROFILE_KEY_HOST, "smtp.example.org");
	set(p, PROFILE_KEY_PORT, "2525");
	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, alts, 3,
	    &cause), 0);
	set(p, PROFILE_KEY_TLS, "explicit");
	set(p, PROFILE_KEY_STARTTLS, "optional");
	set(p, PROFILE_KEY_VERIFY, "false");
	set(p, PROFILE_KEY_CA_FILE, "/etc/ssl/certs/corp ca.pem");
	set(p, PROFILE_KEY_FINGERPRINT, "sha256:" "0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789abcdef");
	set(p, PROFILE_KEY_TLS_MIN, "1.3");
	set(p, PROFILE_KEY_AUTH, "login");
	set(p, PROFILE_KEY_USERNAME, "gw user \"quoted\" \\ ü");
	/* Secrets may hold anything but NUL: quotes, escapes, controls. */
	set(p, PROFILE_KEY_PASSWORD, "p\"a\\s/s\tw\x01rd é € 𝄞");
	set(p, PROFILE_KEY_TRACE, "trace-token");
	set(p, PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS, "true");
	set(p, PROFILE_KEY_FROM, "gateway@example.org");
	set(p, PROFILE_KEY_TO, "ops@example.org");
	set(p, PROFILE_KEY_HELO, "gw1.example.org");
	set(p, PROFILE_KEY_TIMEOUT, "120");
	set(p, PROFILE_KEY_RETRIES, "0");
	set(p, PROFILE_KEY_RETRY_DELAY, "30");
	set(p, PROFILE_KEY_RETRY_MAX, "86400");
	set(p, PROFILE_KEY_MAX_CONNECTIONS, "999");
	set(p, PROFILE_KEY_COMMENT, "Relais für das Büro // «main»");
	return p;
}

static void
expect_same(const struct profile *a, const struct profile *b)
{
	bool changed[PROFILE_KEY_COUNT];
	size_t n = profile_diff(a, b, changed);

	for (int k = 0; k < PROFILE_KEY_COUNT; k++)
		cr_expect(!changed[k], "key %s differs",
		    profile_key_name((enum profile_key)k));
	cr_assert_eq(n, 0);
}

/* yajl's offsets, on which every position rests. */

struct offsets {
	yajl_handle	 h;
	size_t		 v[8];
	size_t		 n;
};

static int
off_record(void *ctx)
{
	struct offsets *o = ctx;

	o->v[o->n++] = yajl_get_bytes_consumed(o->h);
	return 1;
}

static int
off_string(void *ctx, const unsigned char *s, size_t len)
{
	return off_record(ctx);
}

static int
off_number(void *ctx, const char *s, size_t len)
{
	return off_record(ctx);
}

static int
off_bool(void *ctx, int b)
{
	return off_record(ctx);
}

Test(json, yajl_bytes_consumed_is_the_end_of_the_current_token)
{
	static const char text[] = "[ \"ab\" , 12 ,true]";
	yajl_callbacks cb = { .yajl_boolean = off_bool,
	    .yajl_number = off_number, .yajl_string = off_string,
	    .yajl_start_array = off_record, .yajl_end_array = off_record };
	struct offsets o = { 0 };

	o.h = yajl_alloc(&cb, NULL, &o);
	cr_assert_eq(yajl_parse(o.h, (const unsigned char *)text,
	    strlen(text)), yajl_status_ok);
	cr_assert_eq(yajl_complete_parse(o.h), yajl_status_ok);
	yajl_free(o.h);
	cr_assert_eq(o.n, 5);
	cr_expect_eq(o.v[0], 1);	/* after '[' */
	cr_expect_eq(o.v[1], 6);	/* after "ab" */
	cr_expect_eq(o.v[2], 11);	/* after 12, not after ' ' */
	cr_expect_eq(o.v[3], 17);	/* after true */
	cr_expect_eq(o.v[4], 18);	/* after ']' */
}

/* Reading: values and defaults. */

static const char spec_example[] =
    "{\n"
    "  \"profiles\": [\n"
    "    { \"name\": \"corp-relay\", \"host\": \"smtp.example.com\", "
    "\"port\": 587,\n"
    "      \"tls\": \"explicit\", \"starttls\": \"mandatory\", "
    "\"verify\": true,\n"
    "      \"auth\": \"plain\", \"username\": \"gw\", "
    "\"password\": \"s3cret\",\n"
    "      \"from\": \"gateway@example.com\" }\n"
    "  ],\n"
    "  \"settings\": { \"default_profile\": \"corp-relay\" }\n"
    "}\n";

Test(json, spec_example_reads_into_the_expected_profile)
{
	struct profile_file f;
	struct profile *p;

	read_ok(spec_example, &f);
	cr_assert_eq(f.n, 1);
	p = f.entries[0].profile;
	cr_expect_eq(f.entries[0].line, 3);
	cr_expect_eq(f.entries[0].column, 5);
	cr_expect(f.entries[0].password_given);
	cr_expect_str_eq(p->name, "corp-relay");
	cr_expect(p->active);
	cr_expect_str_eq(p->host, "smtp.example.com");
	cr_expect_eq(p->port, 587);
	cr_expect_eq(p->alt_hosts_n, 0);
	cr_expect_eq(p->tls, PROFILE_TLS_EXPLICIT);
	cr_expect_eq(p->starttls, PROFILE_STARTTLS_MANDATORY);
	cr_expect(p->verify);
	cr_expect_null(p->ca_file);
	cr_expect_null(p->fingerprint);
	cr_expect_eq(p->tls_min, PROFILE_TLS_MIN_1_2);
	cr_expect_eq(p->auth, PROFILE_AUTH_PLAIN);
	cr_expect_str_eq(p->username, "gw");
	cr_expect_str_eq(p->password, "s3cret");
	cr_expect_null(p->trace);
	cr_expect(!p->allow_plain_auth_without_tls);
	cr_expect_str_eq(p->from, "gateway@example.com");
	cr_expect_null(p->to);
	cr_expect_null(p->helo);
	cr_expect_eq(p->timeout, 60);
	cr_expect_eq(p->retries, 10);
	cr_expect_eq(p->retry_delay, 10);
	cr_expect_eq(p->retry_max, 1800);
	cr_expect_eq(p->max_connections, 1);
	cr_expect_null(p->comment);

	cr_expect(f.has_settings);
	cr_expect_eq(f.settings_line, 8);
	cr_expect_eq(f.settings_column, 15);
	cr_expect_str_eq(f.settings.default_profile, "corp-relay");
	cr_expect(f.settings_given[SETTINGS_KEY_DEFAULT_PROFILE]);
	cr_expect(!f.settings_given[SETTINGS_KEY_ENABLED]);
	cr_expect(!f.settings_given[SETTINGS_KEY_SUBJECT_PARAMS]);
	cr_expect(!f.settings_given[SETTINGS_KEY_SUBJECT_DELIMITER]);
	cr_expect(f.settings.enabled);
	cr_expect_str_eq(f.settings.subject_delimiter, "//XFB");
	profile_file_clear(&f);
}

Test(json, absent_port_is_the_default_of_the_tls_mode)
{
	struct profile_file f;

	read_ok("{\"profiles\": [\n"
	    "{\"name\": \"ex\", \"host\": \"a.example\", "
	    "\"tls\": \"explicit\"},\n"
	    "{\"name\": \"im\", \"host\": \"a.example\", "
	    "\"tls\": \"implicit\"},\n"
	    "{\"name\": \"no\", \"host\": \"a.example\", \"tls\": \"none\"},\n"
	    "{\"name\": \"dflt\", \"host\": \"a.example\"},\n"
	    "{\"name\": \"kept\", \"host\": \"a.example\", \"port\": 465, "
	    "\"tls\": \"none\"},\n"
	    "{\"port\": 2525, \"name\": \"first\", \"host\": \"a.example\", "
	    "\"tls\": \"explicit\"}\n"
	    "]}", &f);
	cr_assert_eq(f.n, 6);
	cr_expect_eq(f.entries[0].profile->port, 587);
	cr_expect_eq(f.entries[1].profile->port, 465);
	cr_expect_eq(f.entries[2].profile->port, 25);
	cr_expect_eq(f.entries[3].profile->port, 465);
	cr_expect_eq(f.entries[3].profile->tls, PROFILE_TLS_IMPLICIT);
	cr_expect_eq(f.entries[4].profile->port, 465, "a given port is kept");
	cr_expect_eq(f.entries[5].profile->port, 2525);
	for (int i = 0; i < 6; i++) {
		cr_expect_eq(f.entries[i].line, i + 2);
		cr_expect_eq(f.entries[i].column, 1);
		cr_expect(!f.entries[i].password_given);
	}
	cr_expect(!f.has_settings);
	profile_file_clear(&f);
}

Test(json, null_means_absent)
{
	struct profile_file f;
	struct profile *p;

	read_ok("{\"profiles\": [{\"name\": \"n\", \"host\": \"h.example\", "
	    "\"tls\": \"explicit\", \"port\": null, \"comment\": null, "
	    "\"password\": null, \"active\": null, \"alt_hosts\": null, "
	    "\"timeout\": null}], \"settings\": null}", &f);
	cr_assert_eq(f.n, 1);
	p = f.entries[0].profile;
	cr_expect_eq(p->port, 587);
	cr_expect_null(p->comment);
	cr_expect_null(p->password);
	cr_expect(!f.entries[0].password_given);
	cr_expect(p->active);
	cr_expect_eq(p->alt_hosts_n, 0);
	cr_expect_eq(p->timeout, 60);
	cr_expect(!f.has_settings);
	profile_file_clear(&f);
}

Test(json, lists_booleans_numbers_and_escapes_are_read)
{
	struct profile_file f;
	struct profile *p;

	read_ok("{\"profiles\": [{\"name\": \"n\", \"host\": \"h.example\", "
	    "\"alt_hosts\": [\"a.example:25\", \"b.example\"], "
	    "\"verify\": false, \"active\": false, \"retries\": 0, "
	    "\"retry_max\": 86400, \"tls\": \"EXPLICIT\", "
	    "\"comment\": \"caf\\u00e9 \\\"x\\\" \\ud834\\udd1e\"}]}", &f);
	cr_assert_eq(f.n, 1);
	p = f.entries[0].profile;
	cr_assert_eq(p->alt_hosts_n, 2);
	cr_expect_str_eq(p->alt_hosts[0], "a.example:25");
	cr_expect_str_eq(p->alt_hosts[1], "b.example");
	cr_expect(!p->verify);
	cr_expect(!p->active);
	cr_expect_eq(p->retries, 0);
	cr_expect_eq(p->retry_max, 86400);
	cr_expect_eq(p->tls, PROFILE_TLS_EXPLICIT);
	cr_expect_eq(p->port, 587);
	cr_expect_str_eq(p->comment, "café \"x\" 𝄞");
	profile_file_clear(&f);
}

Test(json, settings_are_read)
{
	struct profile_file f;

	read_ok("{\"settings\": {\"enabled\": false, \"default_profile\": "
	    "\"not-in-this-file\", \"subject_params\": true, "
	    "\"subject_delimiter\": \"##\"},\n \"profiles\": []}", &f);
	cr_expect_eq(f.n, 0);
	cr_expect(f.has_settings);
	cr_expect_eq(f.settings_line, 1);
	cr_expect_eq(f.settings_column, 14);
	cr_expect(!f.settings.enabled);
	cr_expect_str_eq(f.settings.default_profile, "not-in-this-file",
	    "the caller checks default_profile against the store");
	cr_expect(f.settings.subject_params);
	cr_expect_str_eq(f.settings.subject_delimiter, "##");
	for (int k = 0; k < SETTINGS_KEY_COUNT; k++)
		cr_expect(f.settings_given[k]);
	profile_file_clear(&f);
}

Test(json, empty_settings_object_is_given_but_sets_nothing)
{
	struct profile_file f;

	read_ok("{\"profiles\": [], \"settings\": {}}", &f);
	cr_expect(f.has_settings);
	for (int k = 0; k < SETTINGS_KEY_COUNT; k++)
		cr_expect(!f.settings_given[k]);
	cr_expect(f.settings.enabled);
	cr_expect_null(f.settings.default_profile);
	profile_file_clear(&f);
}

/* Writing. */

Test(json, export_then_read_is_the_identity_with_every_key_set)
{
	struct profile *v[2];
	struct smtp_settings s;
	struct profile_file f;
	char *text, *cause = NULL;

	v[0] = full_profile();
	v[1] = profile_new("second");
	set(v[1], PROFILE_KEY_HOST, "198.51.100.4");
	settings_init(&s);
	cr_assert_eq(settings_set(&s, SETTINGS_KEY_ENABLED, "false", &cause),
	    0);
	cr_assert_eq(settings_set(&s, SETTINGS_KEY_DEFAULT_PROFILE, "second",
	    &cause), 0);
	cr_assert_eq(settings_set(&s, SETTINGS_KEY_SUBJECT_PARAMS, "true",
	    &cause), 0);
	cr_assert_eq(settings_set(&s, SETTINGS_KEY_SUBJECT_DELIMITER, "<<\\>>",
	    &cause), 0);

	text = export_text(v, 2, &s, PROFILE_SECRET_INCLUDE);
	read_ok(text, &f);
	cr_assert_eq(f.n, 2);
	expect_same(v[0], f.entries[0].profile);
	expect_same(v[1], f.entries[1].profile);
	cr_expect(f.entries[0].password_given);
	cr_expect(!f.entries[1].password_given);
	cr_expect_str_eq(f.entries[0].profile->password,
	    "p\"a\\s/s\tw\x01rd é € 𝄞");
	cr_expect(f.has_settings);
	cr_expect_eq(settings_diff(&s, &f.settings, (bool[SETTINGS_KEY_COUNT]){
	    0 }), 0);
	profile_file_clear(&f);
	settings_clear(&s);
	free(text);
	profile_free(v[0]);
	profile_free(v[1]);
}

Test(json, export_then_read_is_the_identity_with_only_required_keys)
{
	struct profile *v[3];
	struct profile_file f;
	char *text;

	v[0] = profile_new("min");
	set(v[0], PROFILE_KEY_HOST, "mail.example.com");
	v[1] = profile_new("plain-none");
	set(v[1], PROFILE_KEY_HOST, "mx.example.com");
	set(v[1], PROFILE_KEY_TLS, "none");
	profile_tls_changed(v[1], PROFILE_TLS_IMPLICIT);
	v[2] = profile_new("explicit");
	set(v[2], PROFILE_KEY_HOST, "mx.example.com");
	set(v[2], PROFILE_KEY_TLS, "explicit");
	profile_tls_changed(v[2], PROFILE_TLS_IMPLICIT);
	cr_assert_eq(v[1]->port, 25);
	cr_assert_eq(v[2]->port, 587);

	text = export_text(v, 3, NULL, PROFILE_SECRET_INCLUDE);
	cr_expect_null(strstr(text, "settings"));
	read_ok(text, &f);
	cr_assert_eq(f.n, 3);
	for (int i = 0; i < 3; i++)
		expect_same(v[i], f.entries[i].profile);
	cr_expect(!f.has_settings);
	profile_file_clear(&f);
	free(text);
	for (int i = 0; i < 3; i++)
		profile_free(v[i]);
}

Test(json, export_omits_the_password_unless_asked)
{
	struct profile *p = full_profile();
	struct profile_file f;
	char *text;

	text = export_text(&p, 1, NULL, PROFILE_SECRET_OMIT);
	cr_expect_null(strstr(text, "password"));
	cr_expect_null(strstr(text, "rd é"));
	read_ok(text, &f);
	cr_expect(!f.entries[0].password_given,
	    "the importer keeps the stored password");
	cr_expect_null(f.entries[0].profile->password);
	profile_file_clear(&f);
	free(text);

	text = export_text(&p, 1, NULL, PROFILE_SECRET_MASK);
	cr_expect_not_null(strstr(text, "\"password\": \"********\""));
	cr_expect_null(strstr(text, "rd é"));
	free(text);

	set(p, PROFILE_KEY_PASSWORD, "");
	text = export_text(&p, 1, NULL, PROFILE_SECRET_MASK);
	cr_expect_null(strstr(text, "password"), "no mask when unset");
	free(text);
	profile_free(p);
}

Test(json, export_writes_keys_in_the_table_order)
{
	struct profile *p = full_profile();
	struct smtp_settings s;
	char *text, *prev = NULL, *cause = NULL;

	settings_init(&s);
	cr_assert_eq(settings_set(&s, SETTINGS_KEY_DEFAULT_PROFILE, "x",
	    &cause), 0);
	text = export_text(&p, 1, &s, PROFILE_SECRET_INCLUDE);
	for (int k = 0; k < PROFILE_KEY_COUNT; k++) {
		char *needle = NULL, *here;

		cr_assert_neq(asprintf(&needle, "\n      \"%s\": ",
		    profile_key_name((enum profile_key)k)), -1);
		here = strstr(text, needle);
		cr_assert_not_null(here, "%s missing", needle);
		cr_expect(prev == NULL || here > prev, "%s out of order",
		    needle);
		prev = here;
		free(needle);
	}
	prev = strstr(text, "\"settings\"");
	cr_assert_not_null(prev);
	for (int k = 0; k < SETTINGS_KEY_COUNT; k++) {
		char *needle = NULL, *here;

		cr_assert_neq(asprintf(&needle, "\n    \"%s\": ",
		    settings_key_name((enum settings_key)k)), -1);
		here = strstr(text, needle);
		cr_assert_not_null(here, "%s missing", needle);
		cr_expect(here > prev, "%s out of order", needle);
		prev = here;
		free(needle);
	}
	settings_clear(&s);
	free(text);
	profile_free(p);
}

Test(json, export_text_is_indented_typed_and_ends_in_a_newline)
{
	struct profile *p = profile_new("corp-relay");
	struct smtp_settings s;
	char *text;

	set(p, PROFILE_KEY_HOST, "smtp.example.com");
	set(p, PROFILE_KEY_ALT_HOSTS, "b.example");
	settings_init(&s);
	text = export_text(&p, 1, &s, PROFILE_SECRET_OMIT);
	cr_expect_str_eq(text,
	    "{\n"
	    "  \"profiles\": [\n"
	    "    {\n"
	    "      \"name\": \"corp-relay\",\n"
	    "      \"active\": true,\n"
	    "      \"host\": \"smtp.example.com\",\n"
	    "      \"port\": 465,\n"
	    "      \"alt_hosts\": [\n"
	    "        \"b.example\"\n"
	    "      ],\n"
	    "      \"tls\": \"implicit\",\n"
	    "      \"starttls\": \"mandatory\",\n"
	    "      \"verify\": true,\n"
	    "      \"tls_min\": \"1.2\",\n"
	    "      \"auth\": \"none\",\n"
	    "      \"allow_plain_auth_without_tls\": false,\n"
	    "      \"timeout\": 60,\n"
	    "      \"retries\": 10,\n"
	    "      \"retry_delay\": 10,\n"
	    "      \"retry_max\": 1800,\n"
	    "      \"max_connections\": 1\n"
	    "    }\n"
	    "  ],\n"
	    "  \"settings\": {\n"
	    "    \"enabled\": true,\n"
	    "    \"subject_params\": false,\n"
	    "    \"subject_delimiter\": \"//XFB\"\n"
	    "  }\n"
	    "}\n");
	settings_clear(&s);
	free(text);
	profile_free(p);
}

Test(json, empty_export_and_list_are_compact)
{
	char *text, *buf = NULL, *cause = NULL;
	size_t len = 0;
	FILE *fp;

	text = export_text(NULL, 0, NULL, PROFILE_SECRET_OMIT);
	cr_expect_str_eq(text, "{\n  \"profiles\": []\n}\n");
	free(text);

	fp = open_memstream(&buf, &len);
	cr_assert_eq(profile_json_write_list(fp, NULL, 0, PROFILE_SECRET_OMIT,
	    &cause), 0);
	fclose(fp);
	cr_expect_str_eq(buf, "[]\n");
	free(buf);
}

Test(json, write_profile_list_and_settings)
{
	struct profile *v[2];
	struct smtp_settings s;
	struct profile_file f;
	char *buf = NULL, *cause = NULL, *doc;
	size_t len = 0;
	FILE *fp;

	v[0] = full_profile();
	v[1] = profile_new("other");
	set(v[1], PROFILE_KEY_HOST, "h.example");

	fp = open_memstream(&buf, &len);
	cr_assert_eq(profile_json_write_profile(fp, v[0], PROFILE_SECRET_MASK,
	    &cause), 0);
	fclose(fp);
	cr_expect_eq(buf[0], '{');
	cr_expect_str_eq(buf + len - 2, "}\n");
	cr_expect_not_null(strstr(buf, "\n  \"password\": \"********\",\n"));
	cr_assert_neq(asprintf(&doc, "{\"profiles\": [%s]}", buf), -1);
	read_ok(doc, &f);
	cr_expect_str_eq(f.entries[0].profile->password, "********");
	set(f.entries[0].profile, PROFILE_KEY_PASSWORD,
	    v[0]->password);
	expect_same(v[0], f.entries[0].profile);
	profile_file_clear(&f);
	free(doc);
	free(buf);

	buf = NULL;
	fp = open_memstream(&buf, &len);
	cr_assert_eq(profile_json_write_list(fp, v, 2, PROFILE_SECRET_INCLUDE,
	    &cause), 0);
	fclose(fp);
	cr_expect_eq(buf[0], '[');
	cr_expect_str_eq(buf + len - 2, "]\n");
	cr_assert_neq(asprintf(&doc, "{\"profiles\": %s}", buf), -1);
	read_ok(doc, &f);
	cr_assert_eq(f.n, 2);
	expect_same(v[0], f.entries[0].profile);
	expect_same(v[1], f.entries[1].profile);
	profile_file_clear(&f);
	free(doc);
	free(buf);

	settings_init(&s);
	buf = NULL;
	fp = open_memstream(&buf, &len);
	cr_assert_eq(profile_json_write_settings(fp, &s, &cause), 0);
	fclose(fp);
	cr_expect_str_eq(buf, "{\n  \"enabled\": true,\n"
	    "  \"subject_params\": false,\n"
	    "  \"subject_delimiter\": \"//XFB\"\n}\n");
	free(buf);
	settings_clear(&s);
	profile_free(v[0]);
	profile_free(v[1]);
}

Test(json, write_errors_are_reported)
{
	struct profile *p = full_profile();
	char *cause = NULL;
	FILE *fp = fopen("/dev/full", "w");

	cr_assert_not_null(fp);
	cr_expect_eq(profile_json_export(fp, &p, 1, NULL, PROFILE_SECRET_OMIT,
	    &cause), -1);
	cr_assert_not_null(cause);
	cr_expect_str_eq(cause, "writing output: No space left on device");
	free(cause);
	fclose(fp);
	profile_free(p);
}

Test(json, invalid_utf8_is_not_written)
{
	struct profile *p = profile_new("bad");
	char *cause = NULL, *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	/* Only a caller filling the struct by hand can get here. */
	p->comment = strdup("\xff\xfe");
	cr_expect_eq(profile_json_write_profile(fp, p, PROFILE_SECRET_OMIT,
	    &cause), -1);
	cr_expect_not_null(cause);
	fclose(fp);
	free(buf);
	free(cause);
	profile_free(p);
}

/* Reading: the file as a whole. */

Test(json, empty_file)
{
	struct loc l = { 1, 1 };
	const char *msg = "empty file: expected a JSON object with a "
	    "\"profiles\" array";

	expect_one("", l, NULL, NULL, msg);
	expect_one("  \n\t\r\n ", l, NULL, NULL, msg);
}

Test(json, byte_order_mark)
{
	expect_one("\xef\xbb\xbf{\"profiles\": []}", (struct loc){ 1, 1 },
	    NULL, NULL, "starts with a UTF-8 byte order mark; save the file "
	    "without it");
	expect_one("\xff\xfe{\0\"\0", (struct loc){ 1, 1 }, NULL, NULL,
	    "is UTF-16 (it starts with a UTF-16 byte order mark); save the "
	    "file as UTF-8");
}

Test(json, truncated_file)
{
	/* At the end of the last thing in the file. */
	expect_one("{\n  \"profiles\": [\n    {\"name\": \"a\"\n\n",
	    (struct loc){ 3, 17 }, NULL, NULL, "unexpected end of file");
	expect_one("{\"profiles\": [", (struct loc){ 1, 15 }, NULL, NULL,
	    "unexpected end of file");
	expect_one("{\"profiles\": [{\"name\": \"a\", \"active\": tru",
	    (struct loc){ 1, 42 }, NULL, NULL, "unexpected end of file");
	expect_one("{\"profiles\": [{\"name\": \"abc",
	    (struct loc){ 1, 28 }, NULL, NULL, "unexpected end of file");
	expect_one("{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"port\": 25", (struct loc){ 1, 52 }, NULL, NULL,
	    "unexpected end of file");
}

Test(json, syntax_errors)
{
	expect_one("{\"profiles\": [}", (struct loc){ 1, 15 }, NULL, NULL,
	    "not valid JSON: unallowed token at this point in JSON text");
	expect_one("{\n  \"profiles\" []}", (struct loc){ 2, 14 }, NULL, NULL,
	    "not valid JSON: object key and value must be separated by a "
	    "colon (':')");
	expect_one("{\"profiles\": [{\"name\": \"a\" \"host\": \"h\"}]}",
	    (struct loc){ 1, 28 }, NULL, NULL, "not valid JSON: after key "
	    "and value, inside map, I expect ',' or '}'");
	expect_one("{\"profiles\": [@]}", (struct loc){ 1, 15 }, NULL, NULL,
	    "not valid JSON: invalid char in json text");
	expect_one("{\"profiles\": [],}", (struct loc){ 1, 17 }, NULL, NULL,
	    "not valid JSON: invalid object key (must be a string)");
	expect_one("// comment\n{\"profiles\": []}", (struct loc){ 1, 1 },
	    NULL, NULL, "not valid JSON: probable comment found in input "
	    "text, comments are not enabled");
	expect_one("{'profiles': []}", (struct loc){ 1, 2 }, NULL, NULL,
	    "not valid JSON: invalid char in json text");
	expect_one("{\"profiles\": [{\"port\": -}]}", (struct loc){ 1, 25 },
	    NULL, NULL, "not valid JSON: malformed number, a digit is "
	    "required after the minus sign");
	expect_one("{\"profiles\": [{\"port\": 01}]}", (struct loc){ 1, 25 },
	    NULL, NULL, "not valid JSON: after key and value, inside map, "
	    "I expect ',' or '}'");
	/* A raw tab inside a string, on line 2 after a two-byte character. */
	expect_one("{\"profiles\": [\n{\"comment\": \"é\tx\"}]}",
	    (struct loc){ 2, 15 }, NULL, NULL,
	    "not valid JSON: invalid character inside string");
	expect_one("{\"profiles\": [{\"comment\": \"a\\qb\"}]}",
	    (struct loc){ 1, 30 }, NULL, NULL, "not valid JSON: inside a "
	    "string, '\\' occurs before a character which it may not");
}

Test(json, invalid_utf8)
{
	/* The column counts characters: "é" and "€" are one each. */
	expect_one("{\"profiles\": [\n  {\"comment\": \"é€\xff\"}]}",
	    (struct loc){ 2, 18 }, NULL, NULL,
	    "not valid JSON: invalid UTF-8 (save the file as UTF-8)");
	/* A truncated sequence: the lead byte is the culprit. */
	expect_one("{\"profiles\": [{\"comment\": \"ab\xe2\x82x\"}]}",
	    (struct loc){ 1, 30 }, NULL, NULL,
	    "not valid JSON: invalid UTF-8 (save the file as UTF-8)");
	/* In a key. */
	expect_one("{\"pro\xc0\":1}", (struct loc){ 1, 6 }, NULL, NULL,
	    "not valid JSON: invalid UTF-8 (save the file as UTF-8)");
	/* yajl lets overlong forms through; the reader does not. */
	expect_one("{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"comment\": \"\xc0\xaf\"}]}", (struct loc){ 1, 53 }, "a",
	    "comment", "is not valid UTF-8");
}

Test(json, random_bytes_give_one_error)
{
	size_t len = 50u << 20;
	char *buf = malloc(len);
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	struct diag_list errs;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (char)(x >> 24);
	}
	read_bad_len(buf, len, &errs);
	cr_expect_eq(errs.n, 1);
	cr_expect_gt(errs.v[0].line, 0);
	cr_expect_gt(errs.v[0].column, 0);
	diag_list_clear(&errs);

	/* Random bytes behind a valid start. */
	memcpy(buf, "{\"profiles\": [{\"comment\": \"", 27);
	read_bad_len(buf, len, &errs);
	cr_expect_eq(errs.n, 1);
	cr_expect_eq(errs.v[0].line, 1);
	diag_list_clear(&errs);
	free(buf);
}

Test(json, deep_nesting_does_not_crash)
{
	size_t depth = 100000, n;
	const char *head = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"comment\": ";
	char *buf = malloc(strlen(head) + 2 * depth + 8);
	struct diag_list errs;

	cr_assert_not_null(buf);
	memset(buf, '[', depth);
	read_bad_len(buf, depth, &errs);
	cr_assert_eq(errs.n, 1);
	check_diag(&errs.v[0], (struct loc){ 1, 1 }, NULL, NULL, "expected "
	    "a JSON object with a \"profiles\" array, got an array");
	diag_list_clear(&errs);

	/* Nested inside a value: one type error, and the file is read on. */
	n = strlen(head);
	memcpy(buf, head, n);
	memset(buf + n, '[', depth);
	memset(buf + n + depth, ']', depth);
	memcpy(buf + n + 2 * depth, "}]}", 4);
	read_bad(buf, &errs);
	cr_assert_eq(errs.n, 1);
	check_diag(&errs.v[0], (struct loc){ 1, (int)n + 1 }, "a", "comment",
	    "expected a string, got an array");
	diag_list_clear(&errs);

	/* Unclosed. */
	buf[n + depth] = '\0';
	read_bad(buf, &errs);
	cr_assert_eq(errs.n, 2);
	check_diag(&errs.v[1], (struct loc){ 1, (int)(n + depth) + 1 }, NULL,
	    NULL, "unexpected end of file");
	diag_list_clear(&errs);
	free(buf);
}

Test(json, text_after_the_object)
{
	expect_one("{\"profiles\": []} x", (struct loc){ 1, 18 }, NULL, NULL,
	    "unexpected text after the top-level object");
	expect_one("{\"profiles\": []},", (struct loc){ 1, 17 }, NULL, NULL,
	    "unexpected text after the top-level object");
	expect_one("{\"profiles\": []}\n\n  {\"profiles\": []}",
	    (struct loc){ 3, 3 }, NULL, NULL, "a second JSON value after the "
	    "top-level object; a profile file holds one object");
	expect_one("{\"profiles\": []} []", (struct loc){ 1, 18 }, NULL, NULL,
	    "a second JSON value after the top-level object; a profile file "
	    "holds one object");
}

Test(json, top_level_must_be_an_object_with_profiles)
{
	const char *msg = "expected a JSON object with a \"profiles\" array, "
	    "got ";
	char *want;

	cr_assert_neq(asprintf(&want, "%san array", msg), -1);
	expect_one(" [{\"name\": \"a\"}]", (struct loc){ 1, 2 }, NULL, NULL,
	    want);
	free(want);
	cr_assert_neq(asprintf(&want, "%sa number", msg), -1);
	expect_one("\n42", (struct loc){ 2, 1 }, NULL, NULL, want);
	free(want);
	cr_assert_neq(asprintf(&want, "%sa string", msg), -1);
	expect_one("\"profiles\"", (struct loc){ 1, 1 }, NULL, NULL, want);
	free(want);
	cr_assert_neq(asprintf(&want, "%snull", msg), -1);
	expect_one("null", (struct loc){ 1, 1 }, NULL, NULL, want);
	free(want);

	expect_one("{\n  \"settings\": {}\n}", (struct loc){ 1, 1 }, NULL,
	    "profiles", "is missing: a profile file is {\"profiles\": [...]}");
	expect_one("{\"profiles\": null}", (struct loc){ 1, 1 }, NULL,
	    "profiles", "is missing: a profile file is {\"profiles\": [...]}");
	expect_one("{\"profiles\": {\"name\": \"a\"}}", (struct loc){ 1, 14 },
	    NULL, "profiles", "expected an array of profile objects, got an "
	    "object");
	expect_one("{\"profiles\": [], \"settings\": [1]}",
	    (struct loc){ 1, 30 }, NULL, "settings",
	    "expected an object, got an array");
	expect_one("{\"profiles\": [], \"setings\": {}}", (struct loc){ 1, 18 },
	    NULL, "setings", "unknown key; did you mean \"settings\"?");
	expect_one("{\"profiles\": [], \"version\": 2}", (struct loc){ 1, 18 },
	    NULL, "version", "unknown key; a profile file has \"profiles\" "
	    "and \"settings\"");
	expect_one("{\"profiles\": [],\n \"profiles\": []}",
	    (struct loc){ 2, 2 }, NULL, "profiles",
	    "given twice (first at line 1)");
}

Test(json, profiles_must_be_objects)
{
	const char *text = "{\"profiles\": [1, {\"name\": \"a\", \"host\": "
	    "\"h\"}, [\"b\"], \"c\"]}";
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 3);
	check_diag(&errs.v[0], at(text, "1"), NULL, NULL,
	    "expected a profile object, got a number");
	check_diag(&errs.v[1], at(text, "[\"b"), NULL, NULL,
	    "expected a profile object, got an array");
	check_diag(&errs.v[2], at(text, "\"c"), NULL, NULL,
	    "expected a profile object, got a string");
	diag_list_clear(&errs);
}

/* Reading: errors inside profiles. */

static const char good_fmt[] = "{\"name\": \"p%d\", \"host\": "
    "\"smtp%d.example.com\", \"tls\": \"explicit\", \"auth\": \"plain\", "
    "\"username\": \"u%d\", \"password\": \"pw%d\"}";

/* n profiles one a line (profile i on line i + 3), bad[j] at where[j]. */
static char *
many(int n, const char *const *bad, const int *where, int nbad)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	fprintf(fp, "{\n\"profiles\": [\n");
	for (int i = 0; i < n; i++) {
		const char *b = NULL;

		for (int j = 0; j < nbad; j++) {
			if (where[j] == i)
				b = bad[j];
		}
		if (b != NULL)
			fputs(b, fp);
		else
			fprintf(fp, good_fmt, i, i, i, i);
		fprintf(fp, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(fp, "]\n}\n");
	fclose(fp);
	return buf;
}

Test(json, one_bad_profile_among_a_thousand)
{
	const char *bad[] = { "  {\"name\": \"bad\", \"host\": \"h.example\", "
	    "\"port\": 70000}" };
	int where[] = { 617 };
	char *text = many(1000, bad, where, 1);
	char *cause = set_cause(PROFILE_KEY_PORT, "70000");
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 1);
	/* Profile 617 is on line 617 + 3; the value at column 48. */
	check_diag(&errs.v[0], (struct loc){ 620, 48 }, "bad", "port", cause);
	free(cause);
	cr_expect_eq(at(text, "70000").line, 620);
	diag_list_clear(&errs);
	free(text);
}

Test(json, three_bad_profiles_give_three_errors_in_file_order)
{
	const char *bad[] = {
	    "{\"name\": \"b1\", \"host\": \"h.example\", \"port\": 0}",
	    "{\"name\": \"b2\", \"host\": \"h.example\", \"tls\": \"ssl\"}",
	    "{\"name\": \"b3\", \"auth\": \"login\", \"host\": \"h.example\", "
	    "\"password\": \"x\"}",
	};
	int where[] = { 998, 3, 500 };
	char *text = many(1000, bad, where, 3);
	char *tls = set_cause(PROFILE_KEY_TLS, "ssl");
	char *port = set_cause(PROFILE_KEY_PORT, "0");
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 3);
	check_diag(&errs.v[0], (struct loc){ 6, 44 }, "b2", "tls", tls);
	check_diag(&errs.v[1], (struct loc){ 503, 1 }, "b3", "username",
	    "is required when auth is login");
	check_diag(&errs.v[2], (struct loc){ 1001, 45 }, "b1", "port", port);
	free(tls);
	free(port);
	diag_list_clear(&errs);
	free(text);
}

Test(json, a_thousand_good_profiles_are_read_in_order)
{
	char *text = many(1000, NULL, NULL, 0);
	struct profile_file f;

	read_ok(text, &f);
	cr_assert_eq(f.n, 1000);
	for (int i = 0; i < 1000; i += 111) {
		char name[16];

		snprintf(name, sizeof name, "p%d", i);
		cr_expect_str_eq(f.entries[i].profile->name, name);
		cr_expect_eq(f.entries[i].line, i + 3);
		cr_expect_eq(f.entries[i].profile->port, 587);
		cr_expect(f.entries[i].password_given);
	}
	profile_file_clear(&f);
	free(text);
}

Test(json, unknown_key_names_the_profile_even_before_its_name)
{
	const char *text = "{\"profiles\": [\n"
	    "  {\"host\": \"h.example\", \"prot\": 25, \"name\": \"late\"},\n"
	    "  {\"name\": \"b\", \"host\": \"h.example\", "
	    "\"colour\": \"red\"}\n"
	    "]}";
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 2);
	check_diag(&errs.v[0], at(text, "\"prot"), "late", "prot",
	    "unknown key; did you mean \"port\"?");
	check_diag(&errs.v[1], at(text, "\"colour"), "b", "colour",
	    "unknown key");
	diag_list_clear(&errs);
}

Test(json, unknown_key_is_shown_safely)
{
	const char *text = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"\\u001b[31mx\": 1}]}";

	expect_one(text, at(text, "\"\\u001b"), "a", "\\x1b[31mx",
	    "unknown key");
}

Test(json, duplicate_key_names_the_first_line)
{
	const char *text = "{\"profiles\": [{\"name\": \"a\",\n"
	    "  \"host\": \"h.example\",\n"
	    "  \"host\": \"other.example\"}]}";

	expect_one(text, nth_at(text, "\"host", 1), "a", "host",
	    "given twice (first at line 2)");
}

Test(json, wrong_types_for_each_type_class)
{
	static const struct {
		const char	*member;
		const char	*key;
		const char	*reason;
	} cases[] = {
		{ "\"helo\": 5", "helo", "expected a string, got a number" },
		{ "\"comment\": {}", "comment",
		    "expected a string, got an object" },
		{ "\"tls\": true", "tls", "expected a string, got true" },
		{ "\"verify\": \"yes\"", "verify",
		    "expected true or false, got a string" },
		{ "\"active\": 1", "active",
		    "expected true or false, got a number" },
		{ "\"port\": \"587\"", "port",
		    "expected a number, got a string" },
		{ "\"timeout\": [60]", "timeout",
		    "expected a number, got an array" },
		{ "\"port\": 587.0", "port",
		    "expected a whole number, got 587.0" },
		{ "\"retries\": 1e2", "retries",
		    "expected a whole number, got 1e2" },
		{ "\"alt_hosts\": \"a.example\"", "alt_hosts",
		    "expected an array of strings, got a string" },
		{ "\"alt_hosts\": [\"a.example\", 25]", "alt_hosts",
		    "expected a string in the list, got a number" },
		{ "\"alt_hosts\": [null]", "alt_hosts",
		    "expected a string in the list, got null" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text, *value;
		struct loc l;

		cr_assert_neq(asprintf(&text, "{\"profiles\": [{\"name\": "
		    "\"t\", \"host\": \"h.example\", %s}]}", cases[i].member),
		    -1);
		value = strchr(strstr(text, cases[i].member), ':') + 2;
		if (strstr(cases[i].reason, "in the list") != NULL)
			value = strstr(text, strstr(cases[i].member, "null") ?
			    "null]" : "25]");
		l = at(text, value);
		expect_one(text, l, "t", cases[i].key, cases[i].reason);
		free(text);
	}
}

Test(json, number_ranges)
{
	static const struct {
		enum profile_key	 key;
		const char		*value;
	} cases[] = {
		{ PROFILE_KEY_PORT, "0" },
		{ PROFILE_KEY_PORT, "70000" },
		{ PROFILE_KEY_PORT, "-25" },
		{ PROFILE_KEY_TIMEOUT, "99999999999999999999999" },
		{ PROFILE_KEY_RETRIES, "1000" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *key = profile_key_name(cases[i].key);
		char *text, *cause = set_cause(cases[i].key, cases[i].value);

		cr_assert_neq(asprintf(&text, "{\"profiles\": [{\"name\": "
		    "\"a\", \"host\": \"h\", \"%s\": %s}]}", key,
		    cases[i].value), -1);
		/* The value starts right after '"key": '. */
		expect_one(text, (struct loc){ 1, 46 + (int)strlen(key) },
		    "a", key, cause);
		cr_expect_not_null(strstr(cause, "out of range"), "%s", cause);
		free(text);
		free(cause);
	}
	/* Whole numbers are read exactly, not through a double. */
	{
		struct profile_file f;

		read_ok("{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
		    "\"retry_max\": 86400, \"port\": 65535}]}", &f);
		cr_expect_eq(f.entries[0].profile->retry_max, 86400);
		cr_expect_eq(f.entries[0].profile->port, 65535);
		profile_file_clear(&f);
	}
}

Test(json, list_too_long_is_located_at_the_list)
{
	const char *text = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"alt_hosts\": [\"a\", \"b\", \"c\", \"d\"]}]}";

	const char *items[] = { "a", "b", "c", "d" };
	struct profile *p = profile_new(NULL);
	char *cause = NULL;

	cr_assert_eq(profile_set_list(p, PROFILE_KEY_ALT_HOSTS, items, 4,
	    &cause), -1);
	expect_one(text, at(text, "[\"a\""), "a", "alt_hosts", cause);
	free(cause);
	profile_free(p);
}

Test(json, bad_names)
{
	const char *name31 = "abcdefghijklmnopqrstuvwxyz01234";
	const char *name32 = "abcdefghijklmnopqrstuvwxyz01234x";
	struct profile_file f;
	char *text, *cause;

	cause = set_cause(PROFILE_KEY_NAME, "a b");
	cr_expect_not_null(strstr(cause, "space"), "%s", cause);
	expect_one("{\"profiles\": [{\"name\": \"a b\", \"host\": \"h\"}]}",
	    (struct loc){ 1, 24 }, NULL, "name", cause);
	free(cause);

	cause = set_cause(PROFILE_KEY_NAME, name32);
	cr_expect_not_null(strstr(cause, "32"), "%s", cause);
	cr_assert_neq(asprintf(&text, "{\"profiles\": [{\"name\": \"%s\", "
	    "\"host\": \"h\"}]}", name32), -1);
	expect_one(text, (struct loc){ 1, 24 }, NULL, "name", cause);
	free(text);
	free(cause);

	cr_assert_neq(asprintf(&text, "{\"profiles\": [{\"name\": \"%s\", "
	    "\"host\": \"h\"}]}", name31), -1);
	read_ok(text, &f);
	cr_expect_str_eq(f.entries[0].profile->name, name31);
	profile_file_clear(&f);
	free(text);

	cause = set_cause(PROFILE_KEY_NAME, "");
	expect_one("{\"profiles\": [{\"name\": \"\", \"host\": \"h\"}]}",
	    (struct loc){ 1, 24 }, NULL, "name", cause);
	free(cause);
	expect_one("{\"profiles\": [{\"name\": \"a\\u0000b\", "
	    "\"host\": \"h\"}]}",
	    (struct loc){ 1, 24 }, NULL, "name",
	    "contains a NUL character (\\u0000)");
}

Test(json, missing_keys_are_located_at_the_brace)
{
	const char *text = "{\"profiles\": [\n"
	    "  {\"host\": \"h.example\"},\n"
	    "  {\"name\": \"nohost\"}\n"
	    "]}";
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 2);
	check_diag(&errs.v[0], (struct loc){ 2, 3 }, NULL, "name",
	    "is missing");
	check_diag(&errs.v[1], (struct loc){ 3, 3 }, "nohost", "host",
	    "is missing");
	diag_list_clear(&errs);
}

Test(json, auth_plain_without_username)
{
	const char *text = "{\"profiles\": [\n"
	    "  {\"name\": \"a\", \"host\": \"h\"},\n"
	    "    {\"name\": \"relay\", \"host\": \"h\", \"auth\": \"plain\",\n"
	    "     \"password\": \"x\"}\n"
	    "]}";

	expect_one(text, (struct loc){ 3, 5 }, "relay", "username",
	    "is required when auth is plain");
}

Test(json, refused_values_do_not_cascade)
{
	/* Only the bad username is reported, not "username is required". */
	const char *text = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"auth\": \"plain\", \"password\": \"p\", \"username\": 5}]}";

	expect_one(text, at(text, "5}"), "a", "username",
	    "expected a string, got a number");
}

Test(json, duplicate_profile_names)
{
	const char *text = "{\"profiles\": [\n"
	    "  {\"name\": \"dup\", \"host\": \"a.example\"},\n"
	    "  {\"name\": \"other\", \"host\": \"a.example\"},\n"
	    "  {\"host\": \"b.example\",\n"
	    "   \"name\": \"dup\"}\n"
	    "]}";

	expect_one(text, (struct loc){ 5, 12 }, "dup", "name",
	    "profile name already used at line 2");
}

Test(json, control_characters_in_values)
{
	const char *text = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"comment\": \"a\\u001b[2Jb\"}]}";
	char *cause = set_cause(PROFILE_KEY_COMMENT, "a\x1b[2Jb");
	struct profile_file f;

	expect_one(text, at(text, "\"a\\u"), "a", "comment", cause);
	free(cause);
	/* A password may hold them. */
	read_ok("{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"password\": \"a\\u001b\\n\\\\b\"}]}", &f);
	cr_expect_str_eq(f.entries[0].profile->password, "a\x1b\n\\b");
	profile_file_clear(&f);
}

Test(json, columns_count_characters_and_crlf_lines)
{
	const char *text = "{\"profiles\": [\r\n"
	    "  {\"name\": \"a\", \"host\": \"h\", "
	    "\"comment\": \"ĂŠ€𝄞x\", "
	    "\"prot\": 1}\r\n"
	    "]}\r\n";

	/* 49 characters before "prot", of 1, 2, 3 and 4 bytes. */
	expect_one(text, (struct loc){ 2, 50 }, "a", "prot",
	    "unknown key; did you mean \"port\"?");
}

/* Settings. */

Test(json, settings_errors)
{
	const char *text = "{\"profiles\": [],\n"
	    " \"settings\": {\"enabled\": \"yes\", "
	    "\"defualt_profile\": \"a\",\n"
	    "   \"subject_delimiter\": \"\", \"default_profile\": \"a b\",\n"
	    "   \"subject_params\": true, \"subject_params\": false,\n"
	    "   \"colour\": 1}}";
	struct diag_list errs;
	char *cause;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 6);
	check_diag(&errs.v[0], at(text, "\"yes"), NULL, "enabled",
	    "expected true or false, got a string");
	check_diag(&errs.v[1], at(text, "\"defualt"), NULL, "defualt_profile",
	    "unknown setting; did you mean \"default_profile\"?");
	cause = settings_cause(SETTINGS_KEY_SUBJECT_DELIMITER, "");
	check_diag(&errs.v[2], at(text, "\"\","), NULL, "subject_delimiter",
	    cause);
	free(cause);
	cause = settings_cause(SETTINGS_KEY_DEFAULT_PROFILE, "a b");
	check_diag(&errs.v[3], at(text, "\"a b"), NULL, "default_profile",
	    cause);
	free(cause);
	check_diag(&errs.v[4], nth_at(text, "\"subject_params", 1), NULL,
	    "subject_params", "given twice (first at line 4)");
	check_diag(&errs.v[5], at(text, "\"colour"), NULL, "colour",
	    "unknown setting; the settings are enabled, default_profile, "
	    "subject_params and subject_delimiter");
	diag_list_clear(&errs);
}

/*
 * A failed read keeps the profiles it read, errors or not, so that the
 * importer checks the stored passwords in the same pass; f is reusable
 * once cleared.
 */
Test(json, a_failed_read_keeps_its_profiles_for_the_importer)
{
	struct profile_file f;
	struct diag_list errs;
	const char *bad = "{\"profiles\": [{\"name\": \"a\", \"host\": \"h\", "
	    "\"password\": \"secret\"}, {\"name\": \"a\", \"auth\": \"plain\", "
	    "\"username\": \"u\", \"colour\": 1}, {\"name\": \"b c\"}]}";

	cr_assert_eq(read_json(bad, strlen(bad), &f, &errs), -1);
	cr_expect_eq(errs.n, 5, "a duplicate name, a missing host, an unknown "
	    "key, a bad name and its missing host");
	cr_assert_eq(f.n, 3);
	cr_expect_str_eq(f.entries[0].profile->name, "a");
	cr_expect(f.entries[0].password_given);
	cr_expect_str_eq(f.entries[1].profile->name, "a");
	cr_expect(!f.entries[1].password_given,
	    "the importer must look for a's stored password");
	cr_expect_eq(f.entries[1].line, 1);
	cr_expect_null(f.entries[2].profile->name, "a refused name is NULL");
	profile_file_clear(&f);
	profile_file_clear(&f);		/* clearing twice is harmless */
	cr_expect_eq(f.n, 0);
	cr_expect_null(f.entries);
	diag_list_clear(&errs);

	profile_file_init(&f);
	cr_expect_eq(profile_json_read(spec_example, strlen(spec_example), &f,
	    &errs), 0);
	cr_expect_eq(f.n, 1);
	cr_expect_eq(errs.n, 0);
	profile_file_clear(&f);
}

/*
 * Every error of every profile in one pass: an unknown key or a refused
 * value does not stop the checks of its profile, nor of the next ones.
 */
Test(json, every_error_of_every_profile_comes_at_once)
{
	const char *text =
	    "{\"profiles\": [\n"
	    "  {\"name\": \"a\", \"colour\": \"red\", \"auth\": \"plain\",\n"
	    "   \"port\": 0, \"retry_delay\": 60, \"retry_max\": 30},\n"
	    "  {\"name\": \"b\", \"host\": \"h\", \"tls\": \"none\",\n"
	    "   \"auth\": \"login\", \"username\": \"u\", \"password\": \"p\"}\n"
	    "]}\n";
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 6);
	check_diag(&errs.v[0], at(text, "{\"name\": \"a\""), "a", "host",
	    "is missing");
	check_diag(&errs.v[1], at(text, "{\"name\": \"a\""), "a", "username",
	    "is required when auth is plain");
	check_diag(&errs.v[2], at(text, "{\"name\": \"a\""), "a", "retry_max",
	    "30 is below retry_delay (60)");
	check_diag(&errs.v[3], at(text, "\"colour\""), "a", "colour",
	    "unknown key");
	check_diag(&errs.v[4], at(text, "0, \"retry_delay\""), "a", "port",
	    "0 is out of range (1-65535)");
	cr_expect_eq(errs.v[5].line, 4);
	cr_expect_str_eq(errs.v[5].profile, "b");
	cr_expect_str_eq(errs.v[5].key, "auth");
	diag_list_clear(&errs);
}

/* Well-formed JSON up to a syntax error: the profiles before it are checked. */
Test(json, profiles_before_a_syntax_error_are_still_checked)
{
	const char *text = "{\"profiles\": [\n"
	    "  {\"name\": \"a\"},\n"
	    "  {\"name\": \"b\", \"host\": \"h\"} oops\n";
	struct diag_list errs;

	read_bad(text, &errs);
	cr_assert_eq(errs.n, 2);
	check_diag(&errs.v[0], at(text, "{\"name\": \"a\""), "a", "host",
	    "is missing");
	cr_expect_eq(errs.v[1].line, 3);
	cr_expect(strstr(errs.v[1].reason, "not valid JSON"), "%s",
	    errs.v[1].reason);
	diag_list_clear(&errs);
}
