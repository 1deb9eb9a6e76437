/*
 * tests/test_msmtprc.c: core/profile_msmtprc.c: msmtp's configuration file
 * read into profiles, with msmtp's syntax and semantics, and every error
 * located at its line.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/profile_file.h"
#include "core/xmalloc.h"
#include "tests/testutil.h"

static struct profile_file f;
static struct diag_list errs;

static void
setup(void)
{
	profile_file_init(&f);
	memset(&errs, 0, sizeof errs);
}

static void
teardown(void)
{
	profile_file_clear(&f);
	/* profile_file_clear() leaves f initialised: free that too. */
	settings_clear(&f.settings);
	diag_list_clear(&errs);
}

TestSuite(msmtprc, .init = setup, .fini = teardown);

/* Reads len bytes. */
static int
read_buf(const char *buf, size_t len)
{
	return profile_msmtprc_read(buf, len, &f, &errs);
}

static int
read_str(const char *s)
{
	return read_buf(s, strlen(s));
}

/* Every error, one per line, for assertion messages. */
static char *
all_diags(const struct diag_list *list)
{
	char *out = xstrdup(""), *line, *next;

	for (size_t i = 0; i < list->n; i++) {
		line = diag_format(&list->v[i], NULL);
		next = xasprintf("%s%s\n", out, line);
		free(line);
		free(out);
		out = next;
	}
	return out;
}

static void
assert_ok(const char *s)
{
	char *shown;

	if (read_str(s) != 0) {
		shown = all_diags(&errs);
		cr_assert_fail("import failed:\n%s", shown);
	}
	cr_assert_eq(errs.n, 0);
}

static struct profile_entry *
entry(const char *name)
{
	for (size_t i = 0; i < f.n; i++) {
		if (strcmp(f.entries[i].profile->name, name) == 0)
			return &f.entries[i];
	}
	cr_assert_fail("no profile '%s' among %zu", name, f.n);
	return NULL;
}

static struct profile *
prof(const char *name)
{
	return entry(name)->profile;
}

/* The diag in list at line whose reason contains text, or NULL. */
static const struct diag *
find_diag(const struct diag_list *list, int line, const char *text)
{
	for (size_t i = 0; i < list->n; i++) {
		if (list->v[i].line == line &&
		    strstr(list->v[i].reason, text) != NULL)
			return &list->v[i];
	}
	return NULL;
}

static const struct diag *
assert_diag(const struct diag_list *list, int line, const char *text)
{
	const struct diag *d = find_diag(list, line, text);

	if (d == NULL) {
		char *shown = all_diags(list);

		cr_assert_fail("no diag at line %d with \"%s\"; got:\n%s", line,
		    text, shown);
	}
	return d;
}

/* Reads s, which must fail with an error at line containing text. */
static const struct diag *
assert_error(const char *s, int line, const char *text)
{
	cr_assert_eq(read_str(s), -1, "the import should fail");
	return assert_diag(&errs, line, text);
}

static void
assert_str(const char *got, const char *want, const char *what)
{
	if (want == NULL)
		cr_assert_null(got, "%s: expected unset, got '%s'", what, got);
	else {
		cr_assert_not_null(got, "%s: expected '%s', got unset", what,
		    want);
		cr_assert_str_eq(got, want, "%s", what);
	}
}

static const char typical[] =
    "# ~/.msmtprc\n"					/* 1 */
    "defaults\n"					/* 2 */
    "tls on\n"						/* 3 */
    "tls_trust_file /etc/ssl/certs/ca-certificates.crt\n" /* 4 */
    "timeout 30\n"					/* 5 */
    "\n"						/* 6 */
    "  # work: the company relay\n"			/* 7 */
    "account work\n"					/* 8 */
    "host smtp.example.com\n"				/* 9 */
    "port 587\n"					/* 10 */
    "auth plain\n"					/* 11 */
    "user \"jane doe\"\n"				/* 12 */
    "password \"  s3 \\\"cr\\\" \\\\et \"\n"		/* 13 */
    "from jane@example.com\n"				/* 14 */
    "domain laptop.example.com\n"			/* 15 */
    "\n"						/* 16 */
    "account work2 : work\n"				/* 17 */
    "host smtp2.example.com\n"				/* 18 */
    "\n"						/* 19 */
    "account isp\n"					/* 20 */
    "host mail.isp.example\n"				/* 21 */
    "tls_starttls off\n"				/* 22 */
    "auth login\n"					/* 23 */
    "user 12345\n"					/* 24 */
    "password pass#word\n"				/* 25 */
    "from j@isp.example\n"				/* 26 */
    "\n"						/* 27 */
    "account lan\n"					/* 28 */
    "host 192.0.2.25\n"					/* 29 */
    "tls off\n"						/* 30 */
    "timeout off\n"					/* 31 */
    "\n"						/* 32 */
    "account default : work2\n";			/* 33 */

Test(msmtprc, typical_file_gives_every_account_with_its_settings)
{
	struct profile *p;
	struct profile_entry *e;

	assert_ok(typical);
	cr_assert_eq(f.n, 5);
	cr_assert_str_eq(f.entries[0].profile->name, "work");
	cr_assert_str_eq(f.entries[1].profile->name, "work2");
	cr_assert_str_eq(f.entries[2].profile->name, "isp");
	cr_assert_str_eq(f.entries[3].profile->name, "lan");
	cr_assert_str_eq(f.entries[4].profile->name, "default");

	e = entry("work");
	p = e->profile;
	cr_assert_eq(e->line, 8);
	cr_assert_eq(e->column, 1);
	cr_assert(e->password_given);
	assert_str(p->host, "smtp.example.com", "host");
	cr_assert_eq(p->port, 587);
	cr_assert_eq(p->tls, PROFILE_TLS_EXPLICIT);
	cr_assert_eq(p->starttls, PROFILE_STARTTLS_MANDATORY);
	cr_assert(p->verify);
	assert_str(p->ca_file, "/etc/ssl/certs/ca-certificates.crt",
	    "ca_file from defaults");
	assert_str(p->fingerprint, NULL, "fingerprint");
	cr_assert_eq(p->auth, PROFILE_AUTH_PLAIN);
	assert_str(p->username, "jane doe", "quoted user");
	assert_str(p->password, "  s3 \"cr\" \\et ", "quoted password");
	assert_str(p->from, "jane@example.com", "from");
	assert_str(p->helo, "laptop.example.com", "domain becomes helo");
	cr_assert_eq(p->timeout, 30, "timeout from defaults");

	p = prof("work2");
	cr_assert_eq(entry("work2")->line, 17);
	assert_str(p->host, "smtp2.example.com", "own host");
	cr_assert_eq(p->port, 587, "port inherited from work");
	cr_assert_eq(p->auth, PROFILE_AUTH_PLAIN);
	assert_str(p->username, "jane doe", "inherited user");
	assert_str(p->password, "  s3 \"cr\" \\et ", "inherited password");
	assert_str(p->from, "jane@example.com", "inherited from");
	cr_assert(entry("work2")->password_given);

	p = prof("isp");
	cr_assert_eq(p->tls, PROFILE_TLS_IMPLICIT);
	cr_assert_eq(p->port, 465, "msmtp's port for TLS without STARTTLS");
	cr_assert_eq(p->auth, PROFILE_AUTH_LOGIN);
	assert_str(p->password, "pass#word", "'#' after a value is no comment");
	assert_str(p->helo, NULL, "no domain: gwsmtp's default");

	p = prof("lan");
	cr_assert_eq(p->tls, PROFILE_TLS_NONE);
	cr_assert_eq(p->port, 25);
	cr_assert_eq(p->auth, PROFILE_AUTH_NONE);
	assert_str(p->ca_file, NULL, "TLS settings dropped without TLS");
	cr_assert_eq(p->timeout, 60, "timeout off: gwsmtp's default");
	cr_assert_not(entry("lan")->password_given);

	p = prof("default");
	cr_assert_eq(entry("default")->line, 33);
	assert_str(p->host, "smtp2.example.com", "default inherits work2");
	cr_assert_eq(p->port, 587);
	assert_str(p->password, "  s3 \"cr\" \\et ", "default's password");

	cr_assert(f.has_settings);
	cr_assert(f.settings_given[SETTINGS_KEY_DEFAULT_PROFILE]);
	assert_str(f.settings.default_profile, "default", "default_profile");
	cr_assert_eq(f.settings_line, 33);
	cr_assert_eq(f.warnings.n, 0, "nothing was left behind");
}

Test(msmtprc, no_default_account_sets_no_settings)
{
	assert_ok("account a\nhost a.example.com\n");
	cr_assert_eq(f.n, 1);
	cr_assert_not(f.has_settings);
	cr_assert_not(f.settings_given[SETTINGS_KEY_DEFAULT_PROFILE]);
	assert_str(f.settings.default_profile, NULL, "default_profile");
}

Test(msmtprc, account_named_default_is_the_default_profile)
{
	assert_ok("account default\nhost d.example.com\n");
	cr_assert_eq(f.n, 1);
	assert_str(prof("default")->host, "d.example.com", "host");
	assert_str(f.settings.default_profile, "default", "default_profile");
	cr_assert_eq(f.settings_line, 1);
}

Test(msmtprc, tls_and_starttls_give_the_mode_and_msmtps_port)
{
	assert_ok(
	    "account plain\nhost h.example.com\n"
	    "account plain-off\nhost h.example.com\ntls off\ntls_starttls off\n"
	    "account starttls\nhost h.example.com\ntls on\n"
	    "account starttls-on\nhost h.example.com\ntls\ntls_starttls on\n"
	    "account smtps\nhost h.example.com\ntls on\ntls_starttls off\n"
	    "account smtps-port\nhost h.example.com\ntls on\n"
	    "tls_starttls off\nport 2465\n"
	    "account submission\nhost h.example.com\ntls on\nport 587\n"
	    "account old\nhost h.example.com\ntls on\ntls_nostarttls\n");
	cr_assert_eq(prof("plain")->tls, PROFILE_TLS_NONE, "msmtp: tls off");
	cr_assert_eq(prof("plain")->port, 25);
	cr_assert_eq(prof("plain-off")->tls, PROFILE_TLS_NONE);
	cr_assert_eq(prof("plain-off")->port, 25);
	cr_assert_eq(prof("starttls")->tls, PROFILE_TLS_EXPLICIT);
	cr_assert_eq(prof("starttls")->port, 25,
	    "msmtp's STARTTLS default port is 25, not gwsmtp's 587");
	cr_assert_eq(prof("starttls-on")->tls, PROFILE_TLS_EXPLICIT,
	    "an empty argument means on");
	cr_assert_eq(prof("smtps")->tls, PROFILE_TLS_IMPLICIT);
	cr_assert_eq(prof("smtps")->port, 465);
	cr_assert_eq(prof("smtps-port")->tls, PROFILE_TLS_IMPLICIT);
	cr_assert_eq(prof("smtps-port")->port, 2465, "a given port is kept");
	cr_assert_eq(prof("submission")->port, 587);
	cr_assert_eq(prof("old")->tls, PROFILE_TLS_IMPLICIT,
	    "the old tls_nostarttls");
	cr_assert_eq(prof("old")->port, 465);
}

Test(msmtprc, switch_words_are_msmtps)
{
	assert_error("account a\nhost h.example.com\ntls yes\n", 3,
	    "'yes' is not on or off");
	cr_assert_eq(errs.v[0].column, 5, "the column of the value");
	assert_str(errs.v[0].key, "tls", "key");
	assert_str(errs.v[0].profile, "a", "profile");
}

Test(msmtprc, certcheck_trust_file_and_fingerprint)
{
	setenv("HOME", "/home/jane", 1);
	assert_ok(
	    "defaults\ntls on\n"
	    "account system\nhost h.example.com\ntls_trust_file system\n"
	    "account empty\nhost h.example.com\ntls_trust_file\n"
	    "account tilde\nhost h.example.com\ntls_trust_file ~/ca.pem\n"
	    "account nocheck\nhost h.example.com\ntls_certcheck off\n"
	    "tls_trust_file /etc/ca.pem\n"
	    "account oldnocheck\nhost h.example.com\ntls_nocertcheck\n"
	    "account pinned\nhost h.example.com\ntls_trust_file /etc/ca.pem\n"
	    "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:Ff\n"
	    "account unpinned : pinned\ntls_fingerprint\n");
	assert_str(prof("system")->ca_file, NULL, "system trust store");
	cr_assert(prof("system")->verify);
	assert_str(prof("empty")->ca_file, NULL, "empty: system trust store");
	assert_str(prof("tilde")->ca_file, "/home/jane/ca.pem", "~ is $HOME");
	cr_assert_not(prof("nocheck")->verify);
	assert_str(prof("nocheck")->ca_file, NULL,
	    "certcheck off overrides the trust file, as in msmtp");
	cr_assert_not(prof("oldnocheck")->verify, "the old tls_nocertcheck");
	assert_str(prof("pinned")->fingerprint, "sha256:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    "fingerprint");
	assert_str(prof("pinned")->ca_file, NULL,
	    "the fingerprint overrides the trust file, as in msmtp");
	cr_assert(prof("pinned")->verify);
	assert_str(prof("unpinned")->fingerprint, NULL,
	    "an empty tls_fingerprint unsets the inherited one");
	assert_str(prof("unpinned")->ca_file, "/etc/ca.pem",
	    "without the fingerprint the trust file applies");
}

Test(msmtprc, sha1_and_md5_fingerprints_are_refused)
{
	const struct diag *d;

	d = assert_error("account a\nhost h.example.com\ntls on\n"
	    "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33\n", 4,
	    "only SHA-256 fingerprints can be carried over");
	cr_assert_not_null(strstr(d->reason, "SHA-1"), "%s", d->reason);
	assert_str(d->key, "tls_fingerprint", "key");
	cr_assert_eq(d->column, 17);
	diag_list_clear(&errs);

	d = assert_error("account a\nhost h.example.com\ntls on\n"
	    "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n",
	    4, "only SHA-256 fingerprints can be carried over");
	cr_assert_not_null(strstr(d->reason, "MD5"), "%s", d->reason);
	diag_list_clear(&errs);

	assert_error("account a\nhost h.example.com\ntls on\n"
	    "tls_fingerprint 0011223344556677\n", 4, "not a fingerprint");
}

Test(msmtprc, trust_file_that_is_a_directory_is_refused)
{
	char *dir = tu_tmpdir(), *text;

	text = xasprintf("account a\nhost h.example.com\ntls on\n"
	    "tls_trust_file %s\n", dir);
	assert_error(text, 4, "directory");
	free(text);
	tu_rmtree(dir);
	free(dir);
}

Test(msmtprc, auth_methods_map_to_gwsmtps)
{
	const struct diag *w;

	assert_ok("defaults\ntls on\nuser u\npassword p\n"
	    "account off\nhost h.example.com\nauth off\n"
	    "account none\nhost h.example.com\n"
	    "account plain\nhost h.example.com\nauth plain\n"
	    "account login\nhost h.example.com\nauth login\n"
	    "account on\nhost h.example.com\nauth on\n"
	    "account empty\nhost h.example.com\nauth\n");
	cr_assert_eq(prof("off")->auth, PROFILE_AUTH_NONE);
	cr_assert_eq(prof("none")->auth, PROFILE_AUTH_NONE, "msmtp: auth off");
	cr_assert_eq(prof("plain")->auth, PROFILE_AUTH_PLAIN);
	cr_assert_eq(prof("login")->auth, PROFILE_AUTH_LOGIN);
	cr_assert_eq(prof("on")->auth, PROFILE_AUTH_PLAIN);
	cr_assert_eq(prof("empty")->auth, PROFILE_AUTH_PLAIN);
	cr_assert_eq(f.warnings.n, 2, "one warning per 'auth on'");
	w = assert_diag(&f.warnings, 18, "PLAIN");
	assert_str(w->key, "auth", "key");
	assert_str(w->profile, "on", "profile");
	assert_diag(&f.warnings, 21, "PLAIN");
}

Test(msmtprc, unsupported_auth_methods_are_errors)
{
	static const char *const methods[] = {
		"cram-md5", "CRAM-MD5", "digest-md5", "DIGEST-MD5",
		"scram-sha-1", "SCRAM-SHA-1", "scram-sha-256", "SCRAM-SHA-256",
		"gssapi", "GSSAPI", "external", "EXTERNAL", "ntlm", "NTLM",
		"oauthbearer", "OAUTHBEARER", "xoauth2", "XOAUTH2",
	};

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i += 2) {
		char *text = xasprintf("account a\nhost h.example.com\ntls on\n"
		    "auth %s\n", methods[i]);
		char *want = xasprintf("authentication method %s is not "
		    "supported (PLAIN, LOGIN, ANONYMOUS)", methods[i + 1]);

		assert_error(text, 4, want);
		free(text);
		free(want);
		teardown();
		setup();
	}
	assert_error("account a\nhost h.example.com\nauth PLAIN\n", 3,
	    "'PLAIN' is not on, off or an authentication method");
}

Test(msmtprc, ignored_commands_warn_and_import_proceeds)
{
	static const char *const ignored[] = {
		"logfile", "logfile_time_format", "syslog", "aliases",
		"auto_from", "maildomain", "set_from_header", "set_date_header",
		"set_msgid_header", "remove_bcc_headers",
		"undisclosed_recipients", "dsn_notify", "dsn_return",
		"add_missing_from_header", "add_missing_date_header", "keepbcc",
		"allow_from_override", "from_full_name", "tls_priorities",
		"tls_force_sslv3",
	};
	size_t n = sizeof ignored / sizeof ignored[0];
	char *text = xstrdup("defaults\nlogfile ~/.msmtp.log\naccount a\n"
	    "host h.example.com\n"), *next;

	for (size_t i = 0; i < n; i++) {
		next = xasprintf("%s%s some-value\n", text, ignored[i]);
		free(text);
		text = next;
	}
	assert_ok(text);
	free(text);
	cr_assert_eq(f.n, 1);
	assert_str(prof("a")->host, "h.example.com", "host");
	cr_assert_eq(f.warnings.n, n + 1);
	assert_str(assert_diag(&f.warnings, 2, "ignored")->key, "logfile",
	    "the warning names the command");
	cr_assert_null(f.warnings.v[0].profile, "defaults name no profile");
	for (size_t i = 0; i < n; i++) {
		const struct diag *w = assert_diag(&f.warnings, (int)i + 5,
		    "ignored: ");

		assert_str(w->key, ignored[i], "command");
		assert_str(w->profile, "a", "profile");
	}
}

Test(msmtprc, commands_that_cannot_be_carried_over_are_errors)
{
	static const char *const refused[] = {
		"passwordeval", "eval", "tls_cert_file", "tls_key_file",
		"tls_crl_file", "tls_host_override", "tls_min_dh_prime_bits",
		"proxy_host", "proxy_port", "socket", "source_ip",
		"ntlmdomain",
	};
	size_t n = sizeof refused / sizeof refused[0];
	char *text = xstrdup("account a\nhost h.example.com\n"), *next;

	for (size_t i = 0; i < n; i++) {
		next = xasprintf("%s%s x\n", text, refused[i]);
		free(text);
		text = next;
	}
	next = xasprintf("%sprotocol lmtp\n", text);
	free(text);
	text = next;
	cr_assert_eq(read_str(text), -1);
	free(text);
	cr_assert_eq(errs.n, n + 1, "one error per line");
	for (size_t i = 0; i < n; i++) {
		const struct diag *d = assert_diag(&errs, (int)i + 3,
		    "cannot be carried over");

		assert_str(d->key, refused[i], "command");
	}
	assert_diag(&errs, (int)n + 3, "LMTP");
}

Test(msmtprc, refused_commands_with_empty_argument_are_harmless)
{
	assert_ok("account a\nhost h.example.com\npasswordeval\n"
	    "tls_cert_file\ntls_key_file\nproxy_host\nsource_ip\n"
	    "protocol smtp\n");
	cr_assert_eq(f.n, 1);
}

Test(msmtprc, unknown_command_is_an_error_at_its_line)
{
	const struct diag *d;

	d = assert_error("account a\nhost h.example.com\n\n  frobnicate on\n",
	    4, "unknown command 'frobnicate'");
	cr_assert_eq(d->column, 3);
}

Test(msmtprc, command_before_account_is_an_error)
{
	assert_error("# comment\nhost h.example.com\naccount a\n"
	    "host h.example.com\n", 2, "before any 'account' or 'defaults'");
}

Test(msmtprc, bad_account_name_is_an_error_at_the_account_line)
{
	assert_error("account a\nhost h.example.com\naccount bad/name\n"
	    "host h.example.com\n", 3, "account name 'bad/name'");
	diag_list_clear(&errs);
	assert_error("account a\nhost h.example.com\n"
	    "account a-name-that-is-longer-than-31-chars\n", 3,
	    "at most 31");
	diag_list_clear(&errs);
	assert_error("account\nhost h.example.com\n", 1,
	    "missing account name");
}

Test(msmtprc, duplicate_account_names_the_first_line)
{
	const struct diag *d;

	d = assert_error("account a\nhost h.example.com\n\naccount b\n"
	    "host h.example.com\naccount a\nhost x.example.com\n", 6,
	    "already defined at line 1");
	assert_str(d->profile, "a", "profile");
	cr_assert_eq(errs.n, 1);
}

Test(msmtprc, unknown_parent_is_an_error)
{
	assert_error("account a\nhost h.example.com\naccount b : a, c\n", 3,
	    "account 'c' is not defined before this line");
	cr_assert_eq(errs.n, 1, "no follow-up error for what c would give");
	diag_list_clear(&errs);
	/* msmtp: a parent must come first. */
	assert_error("account b : a\naccount a\nhost h.example.com\n", 1,
	    "account 'a' is not defined before this line");
}

/*
 * msmtp users often keep the password elsewhere (a keyring): the reader
 * leaves the missing password to the importer, which keeps the stored one
 * or refuses the profile (test_cli.c covers that half).
 */
Test(msmtprc, plain_auth_without_password_is_left_to_the_importer)
{
	cr_assert_eq(read_str("defaults\ntls on\n\naccount a\n"
	    "host h.example.com\nauth plain\nuser u\n"), 0);
	cr_assert_eq(f.n, 1);
	cr_assert(!f.entries[0].password_given);
	cr_assert_null(f.entries[0].profile->password);
	/* A username is still required on the spot. */
	assert_error("account a\nhost h.example.com\ntls on\nauth login\n"
	    "password p\n", 1, "is required");
}

Test(msmtprc, plain_auth_without_tls_is_an_error_at_the_account_line)
{
	const struct diag *d;

	d = assert_error("account a\nhost h.example.com\ntls off\n"
	    "auth plain\nuser u\npassword p\n", 1, "unencrypted");
	assert_str(d->key, "auth", "key");
}

Test(msmtprc, every_error_of_a_file_is_reported)
{
	cr_assert_eq(read_str(
	    "account a\n"			/* 1 */
	    "host h.example.com\n"		/* 2 */
	    "bogus 1\n"				/* 3 */
	    "port 70000\n"			/* 4 */
	    "account a\n"			/* 5 */
	    "account c : nope\n"		/* 6 */
	    "account d\n"			/* 7 */
	    "host h.example.com\n"		/* 8 */
	    "tls on\n"				/* 9 */
	    "auth cram-md5\n"			/* 10 */
	    "account e\n"			/* 11 */
	    "tls on\n"				/* 12 */
	    "from not-an-address\n"),		/* 13 */
	    -1);
	assert_diag(&errs, 3, "unknown command");
	assert_diag(&errs, 4, "out of range");
	assert_diag(&errs, 5, "already defined");
	assert_diag(&errs, 6, "not defined");
	assert_diag(&errs, 10, "CRAM-MD5");
	assert_diag(&errs, 13, "local-part@domain");
	/*
	 * The second 'a' and 'e' are checked as a whole too, although each
	 * has an error already: both lack a host.
	 */
	cr_assert_str_eq(assert_diag(&errs, 5, "is missing")->key, "host");
	cr_assert_str_eq(assert_diag(&errs, 11, "is missing")->key, "host");
	cr_assert_eq(errs.n, 8, "%s", all_diags(&errs));
	/* a, the second a and e: c's parent and d's auth are unknown. */
	cr_assert_eq(f.n, 4, "every account read is kept for the importer");
}

/*
 * One pass: a value refused in an account does not stop the checks of the
 * rest of it, so the administrator sees every error the first time.
 */
Test(msmtprc, a_refused_value_leaves_the_rest_of_its_account_checked)
{
	const struct diag *d;

	cr_assert_eq(read_str(
	    "account a\n"			/* 1 */
	    "tls off\n"				/* 2 */
	    "port 70000\n"			/* 3 */
	    "auth plain\n"			/* 4 */
	    "from not-an-address\n"),		/* 5 */
	    -1);
	assert_diag(&errs, 3, "out of range");
	assert_diag(&errs, 5, "local-part@domain");
	d = assert_diag(&errs, 1, "is missing");
	assert_str(d->key, "host", "key");
	assert_str(d->profile, "a", "profile");
	d = assert_diag(&errs, 1, "is required when auth is plain");
	assert_str(d->key, "username", "key");
	d = assert_diag(&errs, 1, "unencrypted");
	assert_str(d->key, "auth", "key");
	/* The password is left to the importer, which has the store. */
	cr_assert_eq(errs.n, 5, "%s", all_diags(&errs));
	cr_assert_eq(f.n, 1);
	assert_str(f.entries[0].profile->name, "a", "name");
	cr_assert(!f.entries[0].password_given);
}

Test(msmtprc, a_refused_name_leaves_the_account_checked)
{
	const struct diag *d;

	cr_assert_eq(read_str("account bad/name\nfrom x@example.com\n"
	    "account b\nhost h.example.com\naccount b\nport 25\n"), -1);
	assert_diag(&errs, 1, "account name 'bad/name'");
	d = assert_diag(&errs, 1, "is missing");
	assert_str(d->key, "host", "key");
	cr_assert_null(d->profile, "a refused name is not repeated");
	assert_diag(&errs, 5, "already defined at line 3");
	assert_str(assert_diag(&errs, 5, "is missing")->key, "host", "key");
	cr_assert_eq(errs.n, 4, "%s", all_diags(&errs));
}

/* A rule about a refused value would only repeat it. */
Test(msmtprc, a_refused_value_gives_no_follow_up_errors)
{
	assert_error("account a\nhost h.example.com\ntls maybe\nauth plain\n"
	    "user u\npassword p\n", 3, "'maybe' is not on or off");
	cr_assert_eq(errs.n, 1, "nothing about auth without TLS:\n%s",
	    all_diags(&errs));
	teardown();
	setup();
	assert_error("account a\nhost bad_host!\nauth plain\nuser u\n"
	    "password \"\"\ntls on\n", 2, "host name");
	assert_str(assert_diag(&errs, 1, "is required when auth is plain")->key,
	    "password", "key");
	cr_assert_eq(errs.n, 2, "nothing about the host being missing:\n%s",
	    all_diags(&errs));
}

/* Errors come as a person reads the file, whichever check found them. */
Test(msmtprc, errors_come_in_file_order)
{
	static const int lines[] = { 1, 4, 6, 7 };

	cr_assert_eq(read_str(
	    "account a\n"			/* 1: no host */
	    "from a@example.com\n"		/* 2 */
	    "account b\n"			/* 3 */
	    "port 0\n"				/* 4 */
	    "host h.example.com\n"		/* 5 */
	    "account c\n"			/* 6: no host */
	    "frobnicate\n"),			/* 7 */
	    -1);
	cr_assert_eq(errs.n, 4, "%s", all_diags(&errs));
	for (size_t i = 0; i < errs.n; i++)
		cr_assert_eq(errs.v[i].line, lines[i], "error %zu:\n%s", i,
		    all_diags(&errs));
}

Test(msmtprc, host_missing_is_reported_at_the_account_line)
{
	assert_error("account a\nfrom a@example.com\n", 1, "is missing");
}

Test(msmtprc, values_go_through_profile_validation)
{
	const struct diag *d;

	d = assert_error("account a\nhost bad_host!\n", 2, "host name");
	assert_str(d->key, "host", "key");
	cr_assert_eq(d->column, 6);
	diag_list_clear(&errs);
	assert_error("account a\nhost h.example.com\ntimeout 7200\n", 3,
	    "out of range");
	diag_list_clear(&errs);
	d = assert_error("account a\nhost h.example.com # the relay\n", 2,
	    "'#' starts a comment only at the beginning of a line");
	diag_list_clear(&errs);
	assert_error("account a\nhost h.example.com\ntls on\n"
	    "tls_trust_file relative/ca.pem\n", 4, "absolute path");
}

Test(msmtprc, timeout_off_keeps_the_default_and_overrides_defaults)
{
	assert_ok("defaults\ntimeout 20\naccount a\nhost h.example.com\n"
	    "account b\nhost h.example.com\ntimeout off\n"
	    "account c\nhost h.example.com\nconnect_timeout 5\n");
	cr_assert_eq(prof("a")->timeout, 20);
	cr_assert_eq(prof("b")->timeout, 60);
	cr_assert_eq(prof("c")->timeout, 5, "connect_timeout is an alias");
}

Test(msmtprc, defaults_accumulate_and_apply_to_later_accounts_only)
{
	assert_ok(
	    "defaults\nport 2525\nfrom d@example.com\n"
	    "account a\nhost a.example.com\n"
	    "defaults\nport 2526\n"
	    "account b\nhost b.example.com\n"
	    "account c : a\n");
	cr_assert_eq(prof("a")->port, 2525, "a keeps the defaults of its time");
	cr_assert_eq(prof("b")->port, 2526);
	assert_str(prof("b")->from, "d@example.com",
	    "the first defaults section still applies");
	/* msmtp: a parent passes on what it set, not its defaults. */
	assert_str(prof("c")->host, "a.example.com", "inherited host");
	cr_assert_eq(prof("c")->port, 2526, "c's own defaults");
}

Test(msmtprc, several_parents_apply_in_order)
{
	assert_ok(
	    "account a\nhost a.example.com\nport 1001\nfrom a@example.com\n"
	    "account b\nhost b.example.com\nport 1002\n"
	    "account c : a, b\n"
	    "account d : b,a\nport 1004\n");
	assert_str(prof("c")->host, "b.example.com", "the later parent wins");
	cr_assert_eq(prof("c")->port, 1002);
	assert_str(prof("c")->from, "a@example.com", "what only a set");
	assert_str(prof("d")->host, "a.example.com", "a comes last for d");
	cr_assert_eq(prof("d")->port, 1004, "d's own port wins");
}

Test(msmtprc, quoting_is_msmtps)
{
	assert_ok(
	    "account a\n"
	    "host   \"h.example.com\"  \n"
	    "user \"\"\n"
	    "password \"a \\\"b\\\" \\\\c\\n\"\n"
	    "account b\nhost h.example.com\n"
	    "password \"unbalanced\n"
	    "account c\nhost h.example.com\n"
	    "password \"\n"
	    "account \"d\" : a\n"
	    "account e : \"d\"\n");
	assert_str(prof("a")->host, "h.example.com", "quotes removed");
	assert_str(prof("a")->username, NULL, "\"\" is empty: unset");
	assert_str(prof("a")->password, "a \"b\" \\c\\n",
	    "\\\" and \\\\ unescaped, other backslashes kept");
	assert_str(prof("b")->password, "\"unbalanced",
	    "an unbalanced quote is kept, as msmtp keeps it");
	assert_str(prof("c")->password, "\"", "a lone quote is kept");
	assert_str(prof("d")->host, "h.example.com", "quoted name");
	assert_str(prof("e")->host, "h.example.com", "quoted parent");
}

Test(msmtprc, crlf_line_endings_are_accepted)
{
	assert_ok("defaults\r\ntls on\r\n\r\naccount a\r\n"
	    "host h.example.com\r\npassword p\r\nauth plain\r\nuser u\r\n"
	    "account default : a\r\n");
	assert_str(prof("a")->host, "h.example.com", "no CR in values");
	assert_str(prof("a")->password, "p", "no CR in the password");
	cr_assert_eq(prof("a")->tls, PROFILE_TLS_EXPLICIT);
	assert_str(f.settings.default_profile, "default", "default_profile");
}

Test(msmtprc, missing_final_newline_and_bom_are_accepted)
{
	assert_ok("\xef\xbb\xbf" "account a\nhost h.example.com");
	assert_str(prof("a")->host, "h.example.com", "host");
}

Test(msmtprc, nul_byte_is_an_error_at_its_line)
{
	static const char text[] = "account a\nhost h.example.com\n"
	    "password se\0cret\nauth plain\n";

	cr_assert_eq(read_buf(text, sizeof text - 1), -1);
	assert_diag(&errs, 3, "NUL");
	cr_assert_eq(errs.n, 1, "%s", all_diags(&errs));
	cr_assert_eq(f.n, 0);
}

Test(msmtprc, invalid_utf8_is_an_error_but_not_in_comments)
{
	assert_error("account a\nhost h.example.com\n"
	    "from caf\xe9@example.com\n", 3, "UTF-8");
	cr_assert_eq(errs.n, 1, "%s", all_diags(&errs));
	teardown();
	setup();
	/* A Latin-1 comment, common in old files, is not imported anyway. */
	assert_ok("# Konto f\xfcr die Arbeit\naccount a\nhost h.example.com\n");
	cr_assert_eq(f.n, 1);
}

Test(msmtprc, long_lines_are_read_whole)
{
	size_t n = 100000;
	char *comment = xmalloc(n + 1), *text;

	memset(comment, 'x', n);
	comment[0] = '#';
	comment[n] = '\0';
	text = xasprintf("%s\naccount a\nhost h.example.com\n", comment);
	assert_ok(text);
	cr_assert_eq(entry("a")->line, 2);
	free(text);
	teardown();
	setup();

	/* 1025 characters: refused by the length limit, never truncated. */
	memset(comment, 'p', 1025);
	comment[1025] = '\0';
	text = xasprintf("account a\nhost h.example.com\npassword %s\n",
	    comment);
	assert_error(text, 3, "at most 1024");
	free(text);
	teardown();
	setup();
	comment[1024] = '\0';
	text = xasprintf("account a\nhost h.example.com\npassword %s\n",
	    comment);
	assert_ok(text);
	cr_assert_eq(strlen(prof("a")->password), 1024);
	free(text);
	free(comment);
}

Test(msmtprc, empty_file_has_no_account)
{
	assert_error("", 0, "no account in the file");
	diag_list_clear(&errs);
	assert_error("# only comments\n\ndefaults\ntls on\n", 0,
	    "no account in the file");
}

Test(msmtprc, defaults_takes_no_argument)
{
	assert_error("defaults now\naccount a\nhost h.example.com\n", 1,
	    "takes no argument");
}

Test(msmtprc, sample_file_imports_cleanly)
{
	const char *root = getenv("GWSMTP_SOURCE_ROOT");
	char *path, *text, *shown;
	size_t len;

	cr_assert_not_null(root, "GWSMTP_SOURCE_ROOT is not set");
	path = xasprintf("%s/assets/examples/msmtprc.sample", root);
	text = tu_read_file(path, &len);
	cr_assert_not_null(text, "cannot read %s", path);
	if (read_buf(text, len) != 0) {
		shown = all_diags(&errs);
		cr_assert_fail("%s:\n%s", path, shown);
	}
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(f.warnings.n, 0, "%s", all_diags(&f.warnings));
	cr_assert_geq(f.n, 4, "several accounts");
	assert_str(f.settings.default_profile, "default", "default_profile");
	assert_str(prof("corp-backup")->username, prof("corp-relay")->username,
	    "inheritance");
	cr_assert_eq(prof("isp")->tls, PROFILE_TLS_IMPLICIT);
	cr_assert_not_null(prof("lab")->fingerprint);
	cr_assert_eq(prof("lan")->tls, PROFILE_TLS_NONE);
	free(text);
	free(path);
}
