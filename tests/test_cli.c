/*
 * tests/test_cli.c: gwadmin's subcommands end to end: the real binary on a
 * real database of its own per test, a file in a fresh temporary directory
 * or, in the postgresql suite, a new PostgreSQL database (tu_db()).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "store/store.h"
#include "tests/testutil.h"

static char *dir;
static char *db;

static void
setup(void)
{
	dir = tu_tmpdir();
	db = tu_db(dir, "gw.db");
	unsetenv("GWSMTP_DB");
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(db);
}

TestSuite(cli, .init = setup, .fini = teardown);

/* Runs gwadmin --db DB ARGS... (NULL-terminated) with stdin from in. */
static struct tu_run
vgw(const char *in, va_list ap)
{
	const char *argv[32] = { "--db", db };
	struct tu_run r;
	size_t n = 2;

	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	tu_gwadmin(&r, in, argv);
	return r;
}

static struct tu_run
gw(const char *in, ...)
{
	struct tu_run r;
	va_list ap;

	va_start(ap, in);
	r = vgw(in, ap);
	va_end(ap);
	return r;
}

/* gw(), asserting exit status 0. */
static struct tu_run
gw_ok(const char *in, ...)
{
	struct tu_run r;
	va_list ap;

	va_start(ap, in);
	r = vgw(in, ap);
	va_end(ap);
	cr_assert_eq(r.status, 0, "gwadmin: exit %d\nstdout: %s\nstderr: %s",
	    r.status, r.out, r.err);
	return r;
}

/* The full state a user could see: export with secrets, plus settings. */
static char *
snapshot(void)
{
	struct tu_run r = gw_ok(NULL, "export", "--include-secrets", NULL);
	char *s = xstrdup(r.out);

	tu_run_free(&r);
	return s;
}

static char *
write_tmp(const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);

	tu_write_file(path, content, strlen(content));
	return path;
}

static void
seed_two(void)
{
	struct tu_run r;

	r = gw_ok(NULL, "set", "alpha", "host=smtp.example.com",
	    "tls=explicit", "from=gw@example.com", NULL);
	tu_run_free(&r);
	r = gw_ok("pw-alpha-123\n", "set", "beta", "host=10.0.0.5",
	    "auth=plain", "username=gw", "--password-stdin", NULL);
	tu_run_free(&r);
}

Test(cli, set_creates_and_show_reports_every_key)
{
	struct tu_run r;

	r = gw_ok(NULL, "set", "corp-relay", "host=smtp.example.com",
	    "tls=explicit", "from=gateway@example.com", NULL);
	cr_assert(strstr(r.out, "created profile 'corp-relay'"), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "corp-relay", NULL);
	cr_assert(strstr(r.out, "host                          smtp.example.com\n"),
	    "%s", r.out);
	/* The port follows the TLS mode when it was not given. */
	cr_assert(strstr(r.out, "port                          587\n"), "%s", r.out);
	cr_assert(strstr(r.out, "tls                           explicit\n"));
	cr_assert(strstr(r.out, "starttls                      mandatory\n"));
	cr_assert(strstr(r.out, "timeout                       60\n"));
	cr_assert(strstr(r.out, "password                      (not set)\n"));
	tu_run_free(&r);
}

Test(cli, new_profile_is_implicit_tls_on_465)
{
	struct tu_run r;

	r = gw_ok(NULL, "set", "p", "host=mail.example.org", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "p", "--json", NULL);
	cr_assert(strstr(r.out, "\"tls\": \"implicit\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"port\": 465"), "%s", r.out);
	tu_run_free(&r);
}

Test(cli, changing_tls_moves_a_default_port_but_keeps_a_typed_one)
{
	struct tu_run r;

	r = gw_ok(NULL, "set", "p", "host=h.example", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "set", "p", "tls=none", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "p", NULL);
	cr_assert(strstr(r.out, "port                          25\n"), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "set", "p", "port=2525", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "set", "p", "tls=explicit", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "p", NULL);
	cr_assert(strstr(r.out, "port                          2525\n"), "%s", r.out);
	tu_run_free(&r);
}

Test(cli, update_names_the_changed_keys)
{
	struct tu_run r;

	seed_two();
	r = gw_ok(NULL, "set", "alpha", "port=2525", "comment=primary", NULL);
	cr_assert(strstr(r.out, "updated profile 'alpha': port, comment"),
	    "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "set", "alpha", "port=2525", NULL);
	cr_assert(strstr(r.out, "unchanged"), "%s", r.out);
	tu_run_free(&r);
}

/* Each bad set: the exit code, a message naming the problem, no change. */
static void
assert_set_refused(int want, const char *needle, const char *in, ...)
{
	const char *argv[32] = { "--db", db, "set" };
	char *before = snapshot(), *after;
	struct tu_run r;
	size_t n = 3;
	va_list ap;

	va_start(ap, in);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	tu_gwadmin(&r, in, argv);
	cr_assert_eq(r.status, want, "set %s %s: exit %d, want %d: %s", argv[3],
	    argv[4], r.status, want, r.err);
	cr_assert(strstr(r.err, needle), "set %s: stderr lacks '%s': %s",
	    argv[4], needle, r.err);
	cr_assert_str_empty(r.out);
	after = snapshot();
	cr_assert_str_eq(before, after, "the database changed");
	tu_run_free(&r);
	free(before);
	free(after);
}

Test(cli, bad_set_input_is_refused_and_changes_nothing)
{
	char name32[33];

	seed_two();
	memset(name32, 'n', 32);
	name32[32] = '\0';
	assert_set_refused(64, "unknown key 'hots'", NULL, "alpha", "hots=x",
	    NULL);
	assert_set_refused(65, "port: 0 is out of range (1-65535)", NULL,
	    "alpha", "port=0", NULL);
	assert_set_refused(65, "port: 70000 is out of range (1-65535)", NULL,
	    "alpha", "port=70000", NULL);
	assert_set_refused(65, "host:", NULL, "alpha", "host=bad_host!", NULL);
	assert_set_refused(65, "timeout: 3601 is out of range", NULL, "alpha",
	    "timeout=3601", NULL);
	assert_set_refused(65, "tls: 'ssl' is not one of", NULL, "alpha",
	    "tls=ssl", NULL);
	assert_set_refused(65, "name: 'space' is not allowed", NULL, "bad name",
	    "host=h.example", NULL);
	assert_set_refused(65, "name: is 32 characters long", NULL, name32,
	    "host=h.example", NULL);
	assert_set_refused(65, "username: is required when auth is plain", NULL,
	    "alpha", "auth=plain", NULL);
	assert_set_refused(65, "password: is required when auth is login", NULL,
	    "alpha", "auth=login", "username=u", NULL);
	assert_set_refused(65, "host: is missing", NULL, "newone",
	    "port=25", NULL);
	assert_set_refused(65, "would send the password unencrypted",
	    "pw\n", "beta", "tls=none", NULL);
	assert_set_refused(64, "not on the command line", NULL, "alpha",
	    "password=hunter2", NULL);
	assert_set_refused(64, "is not KEY=VALUE", NULL, "alpha", "port", NULL);
	assert_set_refused(64, "port given twice", NULL, "alpha", "port=1",
	    "port=2", NULL);
}

Test(cli, password_stdin_is_stored_masked_and_exported_only_on_request)
{
	struct tu_run r;

	seed_two();
	r = gw_ok(NULL, "show", "beta", NULL);
	cr_assert(strstr(r.out, "password                      ********\n"),
	    "%s", r.out);
	cr_assert_null(strstr(r.out, "pw-alpha-123"));
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "beta", "--json", NULL);
	cr_assert(strstr(r.out, "\"password\": \"********\""), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "list", "--json", NULL);
	cr_assert_null(strstr(r.out, "pw-alpha-123"));
	tu_run_free(&r);
	r = gw_ok(NULL, "export", NULL);
	cr_assert_null(strstr(r.out, "pw-alpha-123"));
	cr_assert_null(strstr(r.out, "\"password\""));
	tu_run_free(&r);
	r = gw_ok(NULL, "export", "--include-secrets", NULL);
	cr_assert(strstr(r.out, "\"password\": \"pw-alpha-123\""), "%s", r.out);
	tu_run_free(&r);
}

/*
 * --password-stdin reads no more than a password can be (1024 characters
 * of up to 4 bytes, a line end, and one byte that says there is more):
 * an endless or huge standard input is refused at once, and nothing is
 * changed.
 */
Test(cli, password_stdin_reads_no_further_than_a_password)
{
	const char *gwadmin = getenv("GWADMIN");
	char *before, *after, *cmd;
	struct tu_run r;
	long long left;

	seed_two();
	before = snapshot();
	/* 100 MB without a line end; wc counts what gwadmin left unread. */
	cmd = xasprintf("head -c 100000000 /dev/zero | tr '\\0' a | "
	    "{ '%s' --db '%s' set beta --password-stdin; "
	    "echo \"exit $?\" >&2; wc -c; }", gwadmin, db);
	tu_run_cmd(&r, NULL, (const char *[]){ "sh", "-c", cmd, NULL });
	free(cmd);
	cr_assert(strstr(r.err, "--password-stdin: too much on standard "
	    "input: a password is at most 1024 characters and one line end"),
	    "%s", r.err);
	cr_assert(strstr(r.err, "exit 65\n"), "%s", r.err);
	left = strtoll(r.out, NULL, 10);
	cr_assert_geq(left, 100000000 - 4099, "gwadmin read %lld bytes",
	    100000000 - left);
	tu_run_free(&r);
	/* Endless lines: yes(1) ends when gwadmin has gone. */
	cmd = xasprintf("yes | '%s' --db '%s' set beta --password-stdin",
	    gwadmin, db);
	tu_run_cmd(&r, NULL, (const char *[]){ "timeout", "60", "sh", "-c",
	    cmd, NULL });
	free(cmd);
	cr_assert_eq(r.status, 65, "%s", r.err);
	cr_assert(strstr(r.err, "too much on standard input"), "%s", r.err);
	tu_run_free(&r);
	after = snapshot();
	cr_assert_str_eq(before, after, "the database changed");
	free(before);
	free(after);
}

/*
 * The password is all of standard input less one line end: 1024
 * characters (not bytes: the limit of set, import and the menu alike);
 * more, a second line or nothing at all is refused.
 */
Test(cli, password_stdin_takes_one_line_of_up_to_1024_characters)
{
	char *in = xmalloc(4 * 1024 + 8), *want;
	struct tu_run r;

	seed_two();
	/* 1024 two-byte characters and a CRLF. */
	in[0] = '\0';
	for (int i = 0; i < 1024; i++)
		strcat(in, "\xc3\xa9");
	want = xasprintf("\"password\": \"%s\"", in);
	strcat(in, "\r\n");
	r = gw_ok(in, "set", "beta", "--password-stdin", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "export", "--include-secrets", "beta", NULL);
	cr_assert(strstr(r.out, want), "%.200s", r.out);
	tu_run_free(&r);

	memset(in, 'a', 1025);
	strcpy(in + 1025, "\n");
	r = gw(in, "set", "beta", "--password-stdin", NULL);
	cr_assert_eq(r.status, 65);
	cr_assert(strstr(r.err, "profile 'beta': password: is 1025 characters "
	    "long; at most 1024 allowed"), "%s", r.err);
	tu_run_free(&r);
	r = gw("new-pw\nsecond line\n", "set", "beta", "--password-stdin",
	    NULL);
	cr_assert_eq(r.status, 65);
	cr_assert(strstr(r.err, "more than one line"), "%s", r.err);
	tu_run_free(&r);
	r = gw("", "set", "beta", "--password-stdin", NULL);
	cr_assert_eq(r.status, 65);
	cr_assert(strstr(r.err, "no password on standard input"), "%s", r.err);
	tu_run_free(&r);
	r = gw_ok(NULL, "export", "--include-secrets", "beta", NULL);
	cr_assert(strstr(r.out, want), "unchanged: %.200s", r.out);
	tu_run_free(&r);
	free(want);
	free(in);
}

Test(cli, list_shows_profiles_and_the_default)
{
	struct tu_run r;

	seed_two();
	r = gw_ok(NULL, "settings", "default_profile=beta", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "list", NULL);
	cr_assert(strstr(r.out, "  alpha "), "%s", r.out);
	cr_assert(strstr(r.out, "* beta "), "%s", r.out);
	cr_assert(strstr(r.out, "smtp.example.com"));
	tu_run_free(&r);
	r = gw_ok(NULL, "list", "--json", NULL);
	cr_assert_eq(r.out[0], '[', "%s", r.out);
	cr_assert(strstr(r.out, "\"name\": \"alpha\""));
	cr_assert(strstr(r.out, "\"name\": \"beta\""));
	tu_run_free(&r);
}

Test(cli, delete_and_missing_profiles)
{
	struct tu_run r;

	seed_two();
	r = gw_ok(NULL, "delete", "alpha", NULL);
	tu_run_free(&r);
	r = gw(NULL, "show", "alpha", NULL);
	cr_assert_eq(r.status, 66);
	cr_assert(strstr(r.err, "no profile named 'alpha'"), "%s", r.err);
	tu_run_free(&r);
	r = gw(NULL, "delete", "alpha", NULL);
	cr_assert_eq(r.status, 66);
	tu_run_free(&r);
}

Test(cli, settings_show_set_and_refuse)
{
	struct tu_run r;

	seed_two();
	r = gw_ok(NULL, "settings", NULL);
	cr_assert(strstr(r.out, "enabled            true\n"), "%s", r.out);
	cr_assert(strstr(r.out, "subject_delimiter  //XFB\n"), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "settings", "subject_params=yes",
	    "subject_delimiter=##", "default_profile=alpha", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "settings", "--json", NULL);
	cr_assert(strstr(r.out, "\"subject_params\": true"), "%s", r.out);
	cr_assert(strstr(r.out, "\"default_profile\": \"alpha\""), "%s", r.out);
	tu_run_free(&r);
	r = gw(NULL, "settings", "default_profile=nosuch", NULL);
	cr_assert_eq(r.status, 65);
	cr_assert(strstr(r.err, "no profile named 'nosuch'"), "%s", r.err);
	tu_run_free(&r);
	r = gw(NULL, "settings", "colour=blue", NULL);
	cr_assert_eq(r.status, 64);
	tu_run_free(&r);
	/* Deleting the default profile clears the default. */
	r = gw_ok(NULL, "delete", "alpha", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "settings", NULL);
	cr_assert(strstr(r.out, "default_profile    (none)\n"), "%s", r.out);
	tu_run_free(&r);
}

Test(cli, export_then_import_is_the_identity)
{
	struct tu_run r;
	char *first, *file, *db2 = tu_db(dir, "other.db"), *saved = db;

	seed_two();
	r = gw_ok(NULL, "set", "alpha", "alt_hosts=b.example:26,[2001:db8::1]",
	    "verify=false", "fingerprint=sha256:" "00112233445566778899aabbccdd"
	    "eeff00112233445566778899aabbccddeeff", "retries=0",
	    "comment=main relay", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "settings", "default_profile=beta", NULL);
	tu_run_free(&r);
	first = snapshot();
	file = write_tmp("all.json", first);
	db = db2;
	r = gw_ok(NULL, "import", file, NULL);
	cr_assert(strstr(r.out, "created 2, updated 0, unchanged 0, deleted 0"),
	    "%s", r.out);
	tu_run_free(&r);
	{
		char *second = snapshot();

		cr_assert_str_eq(first, second);
		free(second);
	}
	/* Again into the same database: nothing changes. */
	r = gw_ok(NULL, "import", file, NULL);
	cr_assert(strstr(r.out, "created 0, updated 0, unchanged 2, deleted 0"),
	    "%s", r.out);
	tu_run_free(&r);
	db = saved;
	free(db2);
	free(first);
	free(file);
}

Test(cli, export_without_secrets_reimports_keeping_passwords)
{
	struct tu_run r;
	char *file, *before = NULL, *after;

	seed_two();
	before = snapshot();
	r = gw_ok(NULL, "export", NULL);
	file = write_tmp("nosecrets.json", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "import", file, NULL);
	cr_assert(strstr(r.out, "unchanged 2"), "%s", r.out);
	tu_run_free(&r);
	after = snapshot();
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	free(file);
}

Test(cli, export_output_file_is_private_and_named_profiles_only)
{
	struct tu_run r;
	char *out = xasprintf("%s/out.json", dir), *text;
	struct stat st;

	seed_two();
	r = gw_ok(NULL, "export", "--include-secrets", "--output", out, "beta",
	    NULL);
	cr_assert_str_empty(r.out);
	tu_run_free(&r);
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	text = tu_read_file(out, NULL);
	cr_assert(strstr(text, "\"beta\""));
	cr_assert_null(strstr(text, "\"alpha\""));
	cr_assert_null(strstr(text, "\"settings\""));
	free(text);
	r = gw(NULL, "export", "nosuch", NULL);
	cr_assert_eq(r.status, 66);
	cr_assert_str_empty(r.out);
	tu_run_free(&r);
	free(out);
}

Test(cli, import_replace_and_dry_run)
{
	struct tu_run r;
	char *file, *before, *after;

	seed_two();
	file = write_tmp("one.json", "{\"profiles\": [\n"
	    "  {\"name\": \"gamma\", \"host\": \"g.example\", \"tls\": \"none\"},\n"
	    "  {\"name\": \"alpha\", \"host\": \"smtp.example.com\", \"tls\": "
	    "\"explicit\", \"from\": \"gw@example.com\"}\n]}\n");
	before = snapshot();
	r = gw_ok(NULL, "import", "--dry-run", "--replace", file, NULL);
	cr_assert(strstr(r.out, "dry run"), "%s", r.out);
	cr_assert(strstr(r.out, "created 1, updated 0, unchanged 1, deleted 1"),
	    "%s", r.out);
	tu_run_free(&r);
	after = snapshot();
	cr_assert_str_eq(before, after, "dry run wrote something");
	free(after);
	r = gw_ok(NULL, "import", "--replace", file, NULL);
	cr_assert(strstr(r.out, "created 1, updated 0, unchanged 1, deleted 1"),
	    "%s", r.out);
	tu_run_free(&r);
	r = gw(NULL, "show", "beta", NULL);
	cr_assert_eq(r.status, 66);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "gamma", NULL);
	cr_assert(strstr(r.out, "port                          25\n"), "%s", r.out);
	tu_run_free(&r);
	/* Without --replace an import updates and keeps the others. */
	r = gw_ok(NULL, "set", "delta", "host=d.example", NULL);
	tu_run_free(&r);
	r = gw_ok(NULL, "import", file, NULL);
	cr_assert(strstr(r.out, "deleted 0"), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "show", "delta", NULL);
	tu_run_free(&r);
	free(before);
	free(file);
}

/* An import that must fail: exit 65, every needle in stderr, no change. */
static void
assert_import_refused(const char *file, const char *format,
    const char *const *needles)
{
	char *before = snapshot(), *after;
	struct tu_run r;

	if (format != NULL)
		r = gw(NULL, "import", "--format", format, file, NULL);
	else
		r = gw(NULL, "import", file, NULL);
	cr_assert_eq(r.status, 65, "import %s: exit %d: %s", file, r.status,
	    r.err);
	for (size_t i = 0; needles[i] != NULL; i++)
		cr_assert(strstr(r.err, needles[i]), "import %s: stderr lacks "
		    "'%s':\n%s", file, needles[i], r.err);
	cr_assert(strstr(r.err, "nothing was imported"), "%s", r.err);
	after = snapshot();
	cr_assert_str_eq(before, after, "import %s changed the database", file);
	tu_run_free(&r);
	free(before);
	free(after);
}

Test(cli, import_one_bad_among_a_thousand_changes_nothing)
{
	size_t cap = 1 << 20, len = 0;
	char *json = xmalloc(cap), *file, *needle;

	seed_two();
	len += (size_t)snprintf(json + len, cap - len, "{\"profiles\": [\n");
	for (int i = 0; i < 1001; i++) {
		/* Line i + 2 holds profile i; profile 537 has a bad port. */
		len += (size_t)snprintf(json + len, cap - len,
		    "  {\"name\": \"p%04d\", \"host\": \"h%d.example\", "
		    "\"port\": %d}%s\n", i, i, i == 537 ? 70000 : 25,
		    i == 1000 ? "" : ",");
	}
	snprintf(json + len, cap - len, "]}\n");
	file = write_tmp("big.json", json);
	/* Column of the value 70000 on its line. */
	needle = xasprintf("big.json:539:%d: profile 'p0537': port: 70000 is "
	    "out of range", (int)(strstr(strstr(json, "p0537"), "70000") -
	    strstr(json, "  {\"name\": \"p0537\"")) + 1);
	assert_import_refused(file, NULL, (const char *[]){ needle,
	    "1 error in", NULL });
	free(needle);
	free(json);
	free(file);
}

Test(cli, import_refuses_broken_files)
{
	char *garbage = xmalloc(50u << 20), *path;
	unsigned seed = 42;

	seed_two();
	path = write_tmp("trunc.json", "{\"profiles\": [{\"name\": \"x\", ");
	assert_import_refused(path, NULL, (const char *[]){ "trunc.json:1:", NULL });
	free(path);
	path = write_tmp("bom.json", "\xef\xbb\xbf{\"profiles\": []}");
	assert_import_refused(path, NULL, (const char *[]){ "bom.json:1:1:",
	    "byte order mark", NULL });
	free(path);
	path = write_tmp("dup.json", "{\"profiles\": [\n"
	    "{\"name\": \"a\", \"host\": \"h.example\"},\n"
	    "{\"name\": \"a\", \"host\": \"i.example\"}]}");
	assert_import_refused(path, NULL, (const char *[]){ "dup.json:3:", "'a'",
	    NULL });
	free(path);
	path = write_tmp("unknown.json", "{\"profiles\": [\n"
	    "{\"name\": \"a\", \"host\": \"h.example\", \"colour\": \"red\"}]}");
	assert_import_refused(path, NULL, (const char *[]){ "unknown.json:2:",
	    "colour", "unknown key", NULL });
	free(path);
	path = write_tmp("types.json", "{\"profiles\": [\n"
	    "{\"name\": \"a\", \"host\": \"h.example\", \"port\": \"587\",\n"
	    " \"verify\": 1}]}");
	assert_import_refused(path, NULL, (const char *[]){ "types.json:2:",
	    "types.json:3:", "port", "verify", NULL });
	free(path);
	/* A password left out is kept from the store, never invented. */
	path = write_tmp("nopw.json", "{\"profiles\": [\n"
	    "{\"name\": \"new\", \"host\": \"h.example\", \"auth\": "
	    "\"plain\", \"username\": \"u\"}]}");
	assert_import_refused(path, NULL, (const char *[]){ "nopw.json:2:1: "
	    "profile 'new': password: is required when auth is plain", NULL });
	free(path);
	/* Errors that need the database are all reported too. */
	path = write_tmp("both.json", "{\"profiles\": [\n"
	    "{\"name\": \"new\", \"host\": \"h.example\", \"auth\": "
	    "\"login\", \"username\": \"u\"}],\n"
	    "\"settings\": {\"default_profile\": \"zzz\"}}");
	assert_import_refused(path, NULL, (const char *[]){ "both.json:2:1: "
	    "profile 'new': password:", "both.json:3:", "no profile named "
	    "'zzz'", "2 errors in", NULL });
	free(path);
	path = write_tmp("empty.json", "");
	assert_import_refused(path, NULL, (const char *[]){ "empty", NULL });
	free(path);
	for (size_t i = 0; i < (50u << 20); i++) {
		seed = seed * 1103515245u + 12345u;
		garbage[i] = (char)(seed >> 16);
	}
	path = xasprintf("%s/garbage.json", dir);
	tu_write_file(path, garbage, 50u << 20);
	assert_import_refused(path, NULL, (const char *[]){ "garbage.json:",
	    NULL });
	free(path);
	free(garbage);
	path = write_tmp("bad.msmtprc", "account a\nhost h.example\n"
	    "frobnicate yes\n");
	assert_import_refused(path, "msmtprc", (const char *[]){
	    "bad.msmtprc:3:", "frobnicate", NULL });
	free(path);
}

/* How many lines of text contain needle. */
static int
lines_with(const char *text, const char *needle)
{
	int n = 0;

	for (const char *line = text; *line != '\0'; ) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = xstrndup(line, len);

		n += strstr(copy, needle) != NULL;
		free(copy);
		line += len + (end != NULL);
	}
	return n;
}

/*
 * One run shows every error: those the file shows by itself, in every
 * profile, and those that need the database (a password left out that is
 * not stored, a default_profile that names nothing), even in a profile with
 * errors of its own.  A password the database has is not an error.
 */
Test(cli, import_reports_every_error_in_one_pass)
{
	char *path;

	seed_two();		/* beta has a stored password */
	path = write_tmp("pass.json", "{\"profiles\": [\n"
	    "{\"name\": \"a\", \"host\": \"h.example\", \"auth\": \"plain\", "
	    "\"username\": \"u\", \"colour\": \"red\"},\n"
	    "{\"name\": \"b\", \"host\": \"h.example\", \"port\": 70000},\n"
	    "{\"name\": \"c\", \"auth\": \"login\", \"username\": \"u\"},\n"
	    "{\"name\": \"beta\", \"host\": \"10.0.0.5\", \"auth\": \"plain\", "
	    "\"username\": \"gw\"}],\n"
	    "\"settings\": {\"default_profile\": \"zzz\"}}\n");
	assert_import_refused(path, NULL, (const char *[]){
	    "pass.json:2:1: profile 'a': password: is required when auth is "
	    "plain\n",
	    "profile 'a': colour: unknown key",
	    "profile 'b': port: 70000 is out of range",
	    "pass.json:4:1: profile 'c': host: is missing\n",
	    "pass.json:4:1: profile 'c': password: is required when auth is "
	    "login\n",
	    "pass.json:6:", "default_profile: no profile named 'zzz'",
	    "import: 6 errors in", NULL });
	free(path);

	path = write_tmp("pass.msmtprc",
	    "account a\n"			/* 1 */
	    "host h.example\n"			/* 2 */
	    "tls on\n"				/* 3 */
	    "port 70000\n"			/* 4 */
	    "auth plain\n"			/* 5 */
	    "user u\n"				/* 6 */
	    "\n"				/* 7 */
	    "account b\n"			/* 8 */
	    "frobnicate yes\n"			/* 9 */
	    "\n"				/* 10 */
	    "account beta\n"			/* 11 */
	    "host 10.0.0.5\n"			/* 12 */
	    "tls on\n"				/* 13 */
	    "auth plain\n"			/* 14 */
	    "user gw\n");			/* 15 */
	assert_import_refused(path, "msmtprc", (const char *[]){
	    "pass.msmtprc:1:1: profile 'a': password: is required when auth "
	    "is plain\n",
	    "pass.msmtprc:4:6: profile 'a': port: 70000 is out of range",
	    "pass.msmtprc:8:1: profile 'b': host: is missing\n",
	    "pass.msmtprc:9:1: profile 'b': unknown command 'frobnicate'\n",
	    "import: 4 errors in", NULL });
	free(path);
}

/*
 * Thousands of errors: the first 100 in file order, then one line with how
 * many more there were; the count, the status and the database as for any
 * refused import.
 */
Test(cli, import_prints_the_first_100_errors_and_counts_the_rest)
{
	size_t cap = 1 << 20, len = 0;
	char *json = xmalloc(cap), *rc = xmalloc(cap), *path, *before, *after;
	const char *first;
	struct tu_run r;

	seed_two();
	before = snapshot();
	/* Profile i on line i + 2, without a host: one error each. */
	len += (size_t)snprintf(json + len, cap - len, "{\"profiles\": [\n");
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(json + len, cap - len,
		    "{\"name\": \"p%04d\"}%s\n", i, i == 4999 ? "" : ",");
	snprintf(json + len, cap - len, "]}\n");
	path = write_tmp("many.json", json);
	r = gw(NULL, "import", path, NULL);
	cr_assert_eq(r.status, 65, "%s", r.err);
	cr_assert_eq(lines_with(r.err, "host: is missing"), 100, "%s", r.err);
	first = strstr(r.err, "many.json:2:1: profile 'p0000': host: is "
	    "missing\n");
	cr_assert(first != NULL && first < strchr(r.err, '\n'),
	    "the first error first:\n%.300s", r.err);
	cr_assert(strstr(r.err, "many.json:101:1: profile 'p0099': host: is "
	    "missing\ngwadmin: ... and 4900 more errors, not shown\n"
	    "gwadmin: import: 5000 errors in "), "%s", r.err);
	cr_assert_null(strstr(r.err, "p0100"), "%s", r.err);
	tu_run_free(&r);
	free(path);

	/* msmtprc: errors found at the end (a missing host) come in order. */
	len = 0;
	for (int i = 0; i < 150; i++)
		len += (size_t)snprintf(rc + len, cap - len, "account p%03d\n"
		    "port %d\n", i, i == 120 ? 0 : 25);
	path = write_tmp("many.msmtprc", rc);
	r = gw(NULL, "import", "--format", "msmtprc", path, NULL);
	cr_assert_eq(r.status, 65, "%s", r.err);
	cr_assert_eq(lines_with(r.err, "host: is missing"), 100, "%s", r.err);
	cr_assert(strstr(r.err, "many.msmtprc:199:1: profile 'p099': host: is "
	    "missing\ngwadmin: ... and 51 more errors, not shown\n"
	    "gwadmin: import: 151 errors in "), "%s", r.err);
	tu_run_free(&r);
	free(path);
	after = snapshot();
	cr_assert_str_eq(before, after, "a refused import changed the database");
	free(before);
	free(after);
	free(json);
	free(rc);
}

Test(cli, import_msmtprc)
{
	struct tu_run r;
	char *path = write_tmp("msmtprc",
	    "# my accounts\n"
	    "defaults\n"
	    "tls on\n"
	    "tls_trust_file /etc/ssl/certs/ca-certificates.crt\n"
	    "\n"
	    "account work\n"
	    "host smtp.work.example\n"
	    "port 587\n"
	    "from me@work.example\n"
	    "auth on\n"
	    "user me\n"
	    "password \"se cret\"\n"
	    "\n"
	    "account default : work\n");

	r = gw_ok(NULL, "import", "--format", "msmtprc", path, NULL);
	cr_assert(strstr(r.out, "created 2"), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "export", "--include-secrets", "work", NULL);
	cr_assert(strstr(r.out, "\"tls\": \"explicit\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"port\": 587"), "%s", r.out);
	cr_assert(strstr(r.out, "\"auth\": \"plain\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"password\": \"se cret\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"ca_file\": "
	    "\"/etc/ssl/certs/ca-certificates.crt\""), "%s", r.out);
	tu_run_free(&r);
	r = gw_ok(NULL, "settings", NULL);
	cr_assert(strstr(r.out, "default_profile    default\n"), "%s", r.out);
	tu_run_free(&r);
	free(path);
}

Test(cli, import_from_stdin)
{
	struct tu_run r;

	r = gw_ok("{\"profiles\": [{\"name\": \"s\", \"host\": \"s.example\"}]}",
	    "import", "-", NULL);
	cr_assert(strstr(r.out, "created 1"), "%s", r.out);
	tu_run_free(&r);
	r = gw(NULL, "import", "/nonexistent/file.json", NULL);
	cr_assert_eq(r.status, 66);
	cr_assert(strstr(r.err, "/nonexistent/file.json"), "%s", r.err);
	tu_run_free(&r);
}

Test(cli, database_files_are_private_and_unsafe_ones_refused)
{
	struct tu_run r;
	struct stat st;
	char *wal = xasprintf("%s-wal", db);

	tu_sqlite_only("the modes of the database's files");
	seed_two();
	cr_assert_eq(stat(db, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "db mode %o", st.st_mode & 0777);
	if (stat(wal, &st) == 0)
		cr_assert_eq(st.st_mode & 0777, 0600, "wal mode %o",
		    st.st_mode & 0777);
	chmod(db, 0644);
	r = gw(NULL, "list", NULL);
	cr_assert_eq(r.status, 77, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, db), "%s", r.err);
	cr_assert(strstr(r.err, "chmod"), "%s", r.err);
	tu_run_free(&r);
	free(wal);
}

Test(cli, not_sqlite_and_newer_schema_refused)
{
	struct tu_run r;
	char *path = write_tmp("notes.db", "these are my notes, not a database\n"
	    "and they are long enough to fill the header of one, surely.\n");

	r = gw(NULL, "--db", path, "list", NULL);
	cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "not an SQLite database"), "%s", r.err);
	tu_run_free(&r);
	{
		char *before = tu_read_file(path, NULL);

		cr_assert(strstr(before, "these are my notes"),
		    "the file was changed");
		free(before);
	}
	seed_two();
	tu_db_set_version(db, 99);
	r = gw(NULL, "list", NULL);
	cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "newer"), "%s", r.err);
	tu_run_free(&r);
	free(path);
}

Test(cli, db_path_from_option_env_and_xdg)
{
	struct tu_run r;
	char *xdg = xasprintf("%s/xdg", dir), *def, *envdb, *after;
	struct stat st;

	/* --db after the subcommand, and --db=PATH. */
	{
		const char *argv[] = { "set", "a", "host=a.example", "--db", db,
		    NULL };

		tu_gwadmin(&r, NULL, argv);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_run_free(&r);
	}
	after = xasprintf("--db=%s", db);
	{
		const char *argv[] = { after, "show", "a", NULL };

		tu_gwadmin(&r, NULL, argv);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_run_free(&r);
	}
	/* $GWSMTP_DB. */
	envdb = tu_db(dir, "env.db");
	setenv("GWSMTP_DB", envdb, 1);
	{
		const char *argv[] = { "set", "e", "host=e.example", NULL };

		tu_gwadmin(&r, NULL, argv);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_run_free(&r);
	}
	if (!tu_pg())
		cr_assert_eq(stat(envdb, &st), 0);
	unsetenv("GWSMTP_DB");
	tu_admin_ok(envdb, NULL, "show", "e", NULL);
	/* $XDG_DATA_HOME/gwsmtp/gwsmtp.db, directory 0700. */
	setenv("XDG_DATA_HOME", xdg, 1);
	{
		const char *argv[] = { "list", NULL };

		tu_gwadmin(&r, NULL, argv);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_run_free(&r);
	}
	def = xasprintf("%s/gwsmtp/gwsmtp.db", xdg);
	cr_assert_eq(stat(def, &st), 0, "%s not created", def);
	cr_assert_eq(st.st_mode & 0777, 0600);
	*strrchr(def, '/') = '\0';
	cr_assert_eq(stat(def, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode & 0777);
	free(xdg);
	free(def);
	free(envdb);
	free(after);
}

Test(cli, help_version_and_usage_errors)
{
	struct tu_run r;
	const char *help[] = { "--help", NULL };
	const char *version[] = { "--version", NULL };
	const char *bogus[] = { "frobnicate", NULL };
	const char *sethelp[] = { "set", "--help", NULL };

	tu_gwadmin(&r, NULL, help);
	cr_assert_eq(r.status, 0);
	for (const char *const *c = (const char *[]){ "list", "show", "set",
	    "delete", "settings", "import", "export", NULL }; *c; c++)
		cr_assert(strstr(r.out, *c), "help lacks %s", *c);
	tu_run_free(&r);
	tu_gwadmin(&r, NULL, version);
	cr_assert_eq(r.status, 0);
	cr_assert(strncmp(r.out, "gwadmin ", 8) == 0, "%s", r.out);
	tu_run_free(&r);
	tu_gwadmin(&r, NULL, bogus);
	cr_assert_eq(r.status, 64);
	cr_assert(strstr(r.err, "unknown command 'frobnicate'"), "%s", r.err);
	tu_run_free(&r);
	tu_gwadmin(&r, NULL, sethelp);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "--password-stdin"), "%s", r.out);
	tu_run_free(&r);
}

/* Audit rows must never hold the secret. */
static int
audit_check(const struct store_audit *row, void *arg)
{
	int *n = arg;

	(*n)++;
	cr_assert_null(strstr(row->keys ? row->keys : "", "pw-alpha-123"));
	cr_assert_null(strstr(row->profile ? row->profile : "", "pw-alpha-123"));
	cr_assert_str_eq(row->program, "gwadmin");
	return 0;
}

Test(cli, every_change_is_audited_and_deleted_secrets_leave_the_disk)
{
	struct store *s;
	char *cause = NULL;
	int rows = 0;
	const char *suffix[] = { "", "-wal", "-shm" };

	seed_two();
	{
		struct tu_run r = gw_ok(NULL, "delete", "beta", NULL);

		tu_run_free(&r);
	}
	cr_assert_eq(store_open(db, "test", &s, &cause), STORE_OK, "%s", cause);
	cr_assert_eq(store_audit_foreach(s, audit_check, &rows, &cause), 0);
	cr_assert_eq(rows, 3, "audit rows: %d (create, create, delete)", rows);
	store_close(s);
	/* The files of SQLite (secure_delete); PostgreSQL's are the server's. */
	for (size_t i = 0; i < 3 && !tu_pg(); i++) {
		char *path = xasprintf("%s%s", db, suffix[i]);
		size_t len = 0;
		char *raw = tu_read_file(path, &len);

		if (raw != NULL)
			cr_assert_null(memmem(raw, len, "pw-alpha-123", 12),
			    "the deleted password is still in %s", path);
		free(raw);
		free(path);
	}
}

/* Counts profiles through the CLI; -1 if gwadmin failed. */
static int
profile_count(void)
{
	struct tu_run r = gw(NULL, "list", "--json", NULL);
	int n = 0;

	if (r.status != 0) {
		tu_run_free(&r);
		return -1;
	}
	for (const char *p = r.out; (p = strstr(p, "\"name\":")) != NULL; p++)
		n++;
	tu_run_free(&r);
	return n;
}

static bool
integrity_ok(void)
{
	char *cmd = xasprintf("sqlite3 '%s' 'PRAGMA integrity_check' 2>&1", db);
	FILE *p = popen(cmd, "r");
	char line[256] = "";

	free(cmd);
	cr_assert_not_null(p);
	if (fgets(line, sizeof line, p) == NULL)
		line[0] = '\0';
	pclose(p);
	return strcmp(line, "ok\n") == 0;
}

/*
 * Starts gwadmin import of file into db with stderr on a terminal (so it
 * shows its progress: "importing: 1000 of 4000 profiles", every 1000
 * profiles stored in its transaction), waits until it has shown the
 * progress line of mark profiles and kills it -9 then.  Returns its wait
 * status; *seen whether the line came before the import ended (else the
 * import ended first, or showed no progress within TU_SETTLE_MS: killed
 * at that point).  What the terminal showed goes to *out (caller frees).
 */
static int
import_killed_at(const char *file, int mark, int total, bool *seen,
    char **out)
{
	char *want = xasprintf("importing: %d of %d", mark, total);
	char *buf = NULL;
	size_t len = 0;
	long long end = tu_now_ms() + TU_SETTLE_MS;
	int master, slave, status;
	pid_t pid;

	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0,
	    "openpty: %s", strerror(errno));
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		close(master);
		dup2(null, 1);
		dup2(slave, 2);
		execv(getenv("GWADMIN"), (char *const *)(const char *[]){
		    "gwadmin", "--db", db, "import", file, NULL });
		_exit(127);
	}
	close(slave);
	*seen = false;
	buf = xstrdup("");
	while (!*seen && tu_now_ms() < end) {
		struct pollfd pfd = { master, POLLIN, 0 };
		char chunk[512];
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		/* EIO: the terminal's last writer has ended. */
		if ((n = read(master, chunk, sizeof chunk)) <= 0)
			break;
		buf = xreallocarray(buf, len + (size_t)n + 1, 1);
		memcpy(buf + len, chunk, (size_t)n);
		buf[len += (size_t)n] = '\0';
		*seen = strstr(buf, want) != NULL;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	close(master);
	free(want);
	*out = buf;
	return status;
}

Test(cli, kill_9_during_import_leaves_all_or_nothing)
{
	const int n = 4000;
	size_t cap = (size_t)n * 200, len = 0;
	char *json = xmalloc(cap), *file;
	int killed_mid = 0, round;
	unsigned seed;

	if (!tu_pg() && system("command -v sqlite3 >/dev/null") != 0) {
		if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
			cr_assert_fail("sqlite3 is not installed (./run test "
			    "installs it)");
		cr_skip_test("sqlite3 shell not installed");
	}
	len += (size_t)snprintf(json + len, cap - len, "{\"profiles\": [\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(json + len, cap - len,
		    "{\"name\": \"k%05d\", \"host\": \"h%d.example\", "
		    "\"tls\": \"explicit\", \"auth\": \"login\", \"username\": "
		    "\"u%d\", \"password\": \"p%d\"}%s\n", i, i, i, i,
		    i == n - 1 ? "" : ",");
	snprintf(json + len, cap - len, "]}\n");
	file = write_tmp("kill.json", json);
	free(json);
	/* A whole import stores them all ("all"). */
	{
		const char *argv[] = { "--db", db, "import", file, NULL };
		struct tu_run r;

		tu_gwadmin(&r, NULL, argv);
		cr_assert_eq(r.status, 0, "%s", r.err);
		tu_run_free(&r);
		cr_assert_eq(profile_count(), n);
	}
	/*
	 * Then imports killed -9 once they have stored 1000, 2000 or 3000 of
	 * the n in their transaction (the point drawn from the seed): none of
	 * them stored anything ("nothing").  Rounds until 4 kills landed
	 * mid-import, at most 12.
	 */
	seed = (unsigned)time(NULL);
	cr_log_info("kill_9_during_import: seed %u", seed);
	srand(seed);
	for (round = 0; round < 12 && killed_mid < 4; round++) {
		int status, count, mark = 1000 * (1 + rand() % 3);
		bool seen;
		char *out;

		if (tu_pg()) {
			/* A new database, with nothing in it yet. */
			free(db);
			db = tu_db(dir, "gw.db");
		} else {
			char *w = xasprintf("%s-wal", db), *s = xasprintf("%s-shm", db);

			unlink(db);
			unlink(w);
			unlink(s);
			free(w);
			free(s);
		}
		status = import_killed_at(file, mark, n, &seen, &out);
		count = profile_count();
		cr_assert(count == 0 || count == n, "round %d (seed %u, kill "
		    "after %d of %d stored): %d profiles after kill -9 (want 0 "
		    "or %d)", round, seed, mark, n, count, n);
		/*
		 * Mid-import: killed after storing mark profiles, and nothing
		 * stored.  (Killed after its commit, if the kill came late,
		 * everything is: "all" too, but not the case counted.)
		 */
		if (seen && WIFSIGNALED(status) && count == 0)
			killed_mid++;
		else
			cr_log_warn("round %d (seed %u): not killed mid-import "
			    "after %d profiles (progress %s, status 0x%x, %d "
			    "stored); the terminal showed: %s", round, seed,
			    mark, seen ? "seen" : "not seen", (unsigned)status,
			    count, out);
		free(out);
		/* SQLite's own check of the file (PostgreSQL: the server's). */
		cr_assert(tu_pg() || integrity_ok(), "round %d (seed %u): "
		    "integrity_check failed", round, seed);
	}
	cr_assert_geq(killed_mid, 4, "only %d of %d imports were killed "
	    "mid-way (seed %u)", killed_mid, round, seed);
	free(file);
}
