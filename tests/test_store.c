/*
 * tests/test_store.c: store/store_sqlite.c: file creation and permission
 * rules, refusal of foreign or newer files, migrations, profile CRUD, stale
 * edits, change detection, the audit trail, transactions, locking and the
 * wiping of old secrets from disk.
 *
 * Each test runs in its own process with its own temporary directory.  Two
 * struct store handles on one file stand for two programs: SQLite locks
 * them against each other as it would two processes.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/profile.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "tests/testutil.h"

#define SENTINEL	"S3cretSentinel-xyz"

static char	*dir;
static char	*db;

static void
setup(void)
{
	dir = tu_tmpdir();
	db = xasprintf("%s/gwsmtp.db", dir);
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(db);
}

TestSuite(store, .init = setup, .fini = teardown);

static struct store *
open_ok(const char *path)
{
	struct store	*s = NULL;
	char		*cause = NULL;
	int		 rc;

	rc = store_open(path, "gwadmin", &s, &cause);
	cr_assert_eq(rc, STORE_OK, "store_open %s: %d %s", path, rc,
	    cause ? cause : "");
	cr_assert_not_null(s);
	return s;
}

/* Opens a path that must be refused; returns the message (caller frees). */
static char *
open_refused(const char *path, int want)
{
	struct store	*s = NULL;
	char		*cause = NULL;
	int		 rc;

	rc = store_open(path, "gwadmin", &s, &cause);
	cr_assert_eq(rc, want, "store_open %s: got %d (%s), want %d", path,
	    rc, cause ? cause : "", want);
	cr_assert_null(s);
	cr_assert_not_null(cause, "a refusal says why");
	return cause;
}

static struct profile *
simple_profile(const char *name, const char *host)
{
	struct profile	*p = profile_new(name);

	p->host = xstrdup(host);
	return p;
}

static void
put_ok(struct store *s, struct profile *p, bool want_changed)
{
	char	*cause = NULL;
	bool	 changed = !want_changed;
	int	 rc;

	rc = store_profile_put(s, p, &changed, &cause);
	cr_assert_eq(rc, STORE_OK, "put %s: %d %s", p->name, rc,
	    cause ? cause : "");
	cr_assert_eq(changed, want_changed, "put %s: changed", p->name);
}

static struct profile *
get_ok(struct store *s, const char *name)
{
	struct profile	*p = NULL;
	char		*cause = NULL;
	int		 rc;

	rc = store_profile_get(s, name, &p, &cause);
	cr_assert_eq(rc, STORE_OK, "get %s: %d %s", name, rc,
	    cause ? cause : "");
	return p;
}

static size_t
count_ok(struct store *s)
{
	size_t	 n = 0;
	char	*cause = NULL;

	cr_assert_eq(store_profile_count(s, &n, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	return n;
}

/* A profile with every key at a value other than its default. */
static struct profile *
full_profile(const char *name)
{
	static const char *const values[][2] = {
		{ "active", "false" },
		{ "host", "smtp.example.org" },
		{ "tls", "explicit" },
		{ "port", "2525" },
		{ "alt_hosts", "a.example.org,b.example.org:2526,[::1]:25" },
		{ "starttls", "optional" },
		{ "verify", "false" },
		{ "ca_file", "/etc/ssl/private-ca.pem" },
		{ "fingerprint", "sha256:00112233445566778899aabbccddeeff"
		    "00112233445566778899aabbccddeeff" },
		{ "tls_min", "1.3" },
		{ "auth", "login" },
		{ "username", "gw-user" },
		{ "password", "pw with spaces, commas & \"quotes\"" },
		{ "trace", "trace-token" },
		{ "allow_plain_auth_without_tls", "true" },
		{ "from", "gw@example.org" },
		{ "to", "ops@example.org" },
		{ "helo", "gw.example.org" },
		{ "timeout", "30" },
		{ "retries", "3" },
		{ "retry_delay", "5" },
		{ "retry_max", "600" },
		{ "max_connections", "4" },
		{ "comment", "a comment, caf\xc3\xa9" },
	};
	struct profile	*p = profile_new(name), *def = profile_new(name);
	bool		 changed[PROFILE_KEY_COUNT];
	enum profile_key key;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		cr_assert_eq(profile_key_lookup(values[i][0], &key), 0,
		    "key %s", values[i][0]);
		cr_assert_eq(profile_set(p, key, values[i][1], &cause), 0,
		    "%s=%s: %s", values[i][0], values[i][1],
		    cause ? cause : "");
	}
	/* The fixture must keep up with the key table. */
	cr_assert_eq(profile_diff(def, p, changed), PROFILE_KEY_COUNT - 1,
	    "every key but the name differs from its default");
	profile_free(def);
	return p;
}

static unsigned long
header_u32(const char *path, size_t off)
{
	size_t			 len = 0;
	unsigned char		*b = (unsigned char *)tu_read_file(path, &len);
	unsigned long		 v;

	cr_assert_not_null(b, "read %s", path);
	cr_assert_geq(len, 100, "%s has an SQLite header", path);
	v = (unsigned long)b[off] << 24 | (unsigned long)b[off + 1] << 16 |
	    (unsigned long)b[off + 2] << 8 | b[off + 3];
	free(b);
	return v;
}

/* Patches a big-endian 32-bit field of the (closed) database's header. */
static void
header_patch(const char *path, size_t off, unsigned long v)
{
	size_t	 len = 0;
	char	*b = tu_read_file(path, &len);

	cr_assert_not_null(b);
	cr_assert_geq(len, 100);
	b[off] = (char)(v >> 24);
	b[off + 1] = (char)(v >> 16);
	b[off + 2] = (char)(v >> 8);
	b[off + 3] = (char)v;
	tu_write_file(path, b, len);
	free(b);
}

static mode_t
mode_of(const char *path)
{
	struct stat	sb;

	cr_assert_eq(stat(path, &sb), 0, "stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

static bool
file_contains(const char *path, const char *needle)
{
	size_t	 len = 0;
	char	*b = tu_read_file(path, &len);
	bool	 found;

	if (b == NULL)
		return false;
	found = memmem(b, len, needle, strlen(needle)) != NULL;
	free(b);
	return found;
}

/* Whether the database or its -wal or -shm holds needle. */
static bool
on_disk(const char *needle)
{
	char	*wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
	bool	 found;

	found = file_contains(db, needle) || file_contains(wal, needle) ||
	    file_contains(shm, needle);
	free(wal);
	free(shm);
	return found;
}

/* The audit trail, copied out. */
struct audit_row {
	long long	 id;
	time_t		 time;
	char		*os_user;
	char		*program;
	char		*action;
	char		*profile;
	char		*keys;
};

struct audit_rows {
	struct audit_row	v[32];
	size_t			n;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int
collect(const struct store_audit *a, void *arg)
{
	struct audit_rows	*r = arg;
	struct audit_row	*row;

	cr_assert_lt(r->n, 32);
	row = &r->v[r->n++];
	row->id = a->id;
	row->time = a->time;
	row->os_user = dup_or_null(a->os_user);
	row->program = dup_or_null(a->program);
	row->action = dup_or_null(a->action);
	row->profile = dup_or_null(a->profile);
	row->keys = dup_or_null(a->keys);
	return 0;
}

static void
audit_read(struct store *s, struct audit_rows *r)
{
	char	*cause = NULL;

	r->n = 0;
	cr_assert_eq(store_audit_foreach(s, collect, r, &cause), STORE_OK,
	    "%s", cause ? cause : "");
}

static void
audit_free(struct audit_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].os_user);
		free(r->v[i].program);
		free(r->v[i].action);
		free(r->v[i].profile);
		free(r->v[i].keys);
	}
	r->n = 0;
}

static size_t
audit_count(struct store *s)
{
	struct audit_rows	r;
	size_t			n;

	audit_read(s, &r);
	n = r.n;
	audit_free(&r);
	return n;
}

/* Default path. */

static void
assert_default_path(const char *want)
{
	char	*cause = NULL, *got = store_default_path(&cause);

	cr_assert_not_null(got, "%s", cause ? cause : "");
	cr_assert_str_eq(got, want);
	free(got);
}

Test(store, default_path_prefers_gwsmtp_db)
{
	setenv("GWSMTP_DB", "/srv/gw/config.db", 1);
	setenv("XDG_DATA_HOME", "/data", 1);
	setenv("HOME", "/home/admin", 1);
	assert_default_path("/srv/gw/config.db");
}

Test(store, default_path_uses_xdg_data_home)
{
	unsetenv("GWSMTP_DB");
	setenv("XDG_DATA_HOME", "/data/", 1);
	setenv("HOME", "/home/admin", 1);
	assert_default_path("/data/gwsmtp/gwsmtp.db");
	/* An empty GWSMTP_DB is as good as unset. */
	setenv("GWSMTP_DB", "", 1);
	assert_default_path("/data/gwsmtp/gwsmtp.db");
}

Test(store, default_path_ignores_relative_xdg_data_home)
{
	unsetenv("GWSMTP_DB");
	setenv("XDG_DATA_HOME", "relative/data", 1);
	setenv("HOME", "/home/admin", 1);
	assert_default_path("/home/admin/.local/share/gwsmtp/gwsmtp.db");
	unsetenv("XDG_DATA_HOME");
	assert_default_path("/home/admin/.local/share/gwsmtp/gwsmtp.db");
}

Test(store, default_path_falls_back_to_passwd_home)
{
	struct passwd	*pw = getpwuid(getuid());
	char		*want;

	cr_assert_not_null(pw, "this user has a passwd entry");
	unsetenv("GWSMTP_DB");
	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME");
	want = xasprintf("%s/.local/share/gwsmtp/gwsmtp.db",
	    strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir);
	assert_default_path(want);
	free(want);
}

/* Files and permissions. */

Test(store, creates_private_directory_and_files_despite_umask)
{
	char		*top = xasprintf("%s/data", dir);
	char		*gw = xasprintf("%s/data/gwsmtp", dir);
	char		*path = xasprintf("%s/data/gwsmtp/gwsmtp.db", dir);
	char		*wal = xasprintf("%s-wal", path);
	char		*shm = xasprintf("%s-shm", path);
	struct store	*s;
	struct profile	*p;

	umask(022);
	s = open_ok(path);
	cr_assert_eq(mode_of(top), 0700, "created parent is 0%o", mode_of(top));
	cr_assert_eq(mode_of(gw), 0700, "gwsmtp directory is 0%o",
	    mode_of(gw));
	cr_assert_eq(mode_of(path), 0600, "database is 0%o", mode_of(path));
	p = simple_profile("relay", "smtp.example.org");
	put_ok(s, p, true);
	cr_assert_eq(access(wal, F_OK), 0, "a write made %s", wal);
	cr_assert_eq(mode_of(wal), 0600, "-wal is 0%o", mode_of(wal));
	cr_assert_eq(mode_of(shm), 0600, "-shm is 0%o", mode_of(shm));
	store_close(s);
	profile_free(p);
	free(top);
	free(gw);
	free(path);
	free(wal);
	free(shm);
}

Test(store, strict_umask_still_gives_a_usable_database)
{
	char		*path = xasprintf("%s/new/gwsmtp.db", dir);
	char		*sub = xasprintf("%s/new", dir);
	struct store	*s;
	struct profile	*p = simple_profile("relay", "smtp.example.org");

	/* A umask that takes the owner's own bits must not lock us out. */
	umask(0377);
	s = open_ok(path);
	put_ok(s, p, true);
	store_close(s);
	cr_assert_eq(mode_of(sub), 0700);
	cr_assert_eq(mode_of(path), 0600);
	s = open_ok(path);
	cr_assert_eq(count_ok(s), 1);
	store_close(s);
	profile_free(p);
	free(path);
	free(sub);
}

Test(store, existing_directory_is_left_alone)
{
	struct store	*s;

	cr_assert_eq(chmod(dir, 0755), 0);
	s = open_ok(db);
	store_close(s);
	cr_assert_eq(mode_of(dir), 0755, "only directories it creates are "
	    "made 0700");
}

Test(store, refuses_database_open_to_group_or_others)
{
	static const mode_t	 modes[] = { 0644, 0660, 0604, 0602 };
	struct store		*s = open_ok(db);
	char			*cause, *fix;

	store_close(s);
	fix = xasprintf("chmod 600 %s", db);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		cr_assert_eq(chmod(db, modes[i]), 0);
		cause = open_refused(db, STORE_PERM);
		cr_assert(strstr(cause, fix) != NULL, "message names the path "
		    "and the fix: %s", cause);
		free(cause);
	}
	/* After the fix it opens. */
	cr_assert_eq(chmod(db, 0600), 0);
	store_close(open_ok(db));
	free(fix);
}

Test(store, refuses_open_wal_or_shm)
{
	const char	*suffix[] = { "-wal", "-shm" };
	struct store	*s = open_ok(db);
	char		*side, *cause;

	store_close(s);
	for (size_t i = 0; i < 2; i++) {
		side = xasprintf("%s%s", db, suffix[i]);
		tu_write_file(side, "", 0);
		cr_assert_eq(chmod(side, 0644), 0);
		cause = open_refused(db, STORE_PERM);
		cr_assert(strstr(cause, side) != NULL, "names %s: %s", side,
		    cause);
		free(cause);
		cr_assert_eq(unlink(side), 0);
		free(side);
	}
}

Test(store, refuses_a_file_that_is_not_sqlite)
{
	char	 text[4096], *cause, *back;
	size_t	 len;

	for (size_t i = 0; i < sizeof text; i++)
		text[i] = "the quick brown fox\n"[i % 20];
	tu_write_file(db, text, sizeof text);
	cause = open_refused(db, STORE_BADFILE);
	cr_assert(strstr(cause, "not an SQLite database") != NULL, "%s", cause);
	cr_assert(strstr(cause, db) != NULL, "names the path: %s", cause);
	free(cause);
	back = tu_read_file(db, &len);
	cr_assert(len == sizeof text && memcmp(back, text, len) == 0,
	    "the file is left as it was");
	free(back);
}

Test(store, refuses_a_newer_schema)
{
	struct store	*s = open_ok(db);
	char		*cause;

	store_close(s);
	header_patch(db, 60, 99);
	cause = open_refused(db, STORE_BADFILE);
	cr_assert(strstr(cause, "newer") != NULL && strstr(cause, "99") &&
	    strstr(cause, "upgrade"), "%s", cause);
	free(cause);
	cr_assert_eq(header_u32(db, 60), 99, "not downgraded");
}

Test(store, refuses_another_programs_sqlite_database)
{
	struct store	*s = open_ok(db);
	char		*cause;

	store_close(s);
	/* Tables but no version and no application id: not ours. */
	header_patch(db, 60, 0);
	header_patch(db, 68, 0);
	cause = open_refused(db, STORE_BADFILE);
	cr_assert(strstr(cause, "not a gwsmtp database") != NULL, "%s", cause);
	free(cause);
	/* Another application's id. */
	header_patch(db, 60, 1);
	header_patch(db, 68, 0x12345678);
	cause = open_refused(db, STORE_BADFILE);
	cr_assert(strstr(cause, "not a gwsmtp database") != NULL, "%s", cause);
	free(cause);
}

Test(store, refuses_directories_and_symlinks)
{
	char	*sub = xasprintf("%s/adir", dir);
	char	*link = xasprintf("%s/l", dir);
	char	*cause;

	cr_assert_eq(mkdir(sub, 0700), 0);
	cause = open_refused(sub, STORE_BADFILE);
	cr_assert(strstr(cause, sub) != NULL, "%s", cause);
	free(cause);

	store_close(open_ok(db));
	cr_assert_eq(symlink(db, link), 0);
	cause = open_refused(link, STORE_BADFILE);
	cr_assert(strstr(cause, "symbolic link") != NULL, "%s", cause);
	free(cause);
	free(sub);
	free(link);
}

/* Migrations. */

Test(store, migrates_a_missing_file_to_the_current_version)
{
	struct store	*s;
	struct profile	*p = simple_profile("relay", "smtp.example.org");

	cr_assert_neq(access(db, F_OK), 0);
	s = open_ok(db);
	put_ok(s, p, true);
	store_close(s);
	cr_assert_eq(header_u32(db, 60), STORE_SCHEMA_VERSION);
	cr_assert_eq(header_u32(db, 68), 0x6777736d, "application id 'gwsm'");
	profile_free(p);
}

Test(store, migrates_an_empty_file)
{
	struct store	*s;
	struct profile	*p = simple_profile("relay", "smtp.example.org");
	struct smtp_settings set;
	bool		 changed;
	char		*cause = NULL;

	tu_write_file(db, "", 0);
	s = open_ok(db);
	put_ok(s, p, true);
	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK);
	cr_assert_eq(store_changed(s, &changed, &cause), STORE_OK);
	settings_clear(&set);
	store_close(s);
	cr_assert_eq(header_u32(db, 60), 1);
	profile_free(p);
}

Test(store, reopening_keeps_data_and_does_not_migrate_again)
{
	struct store	*s = open_ok(db);
	struct profile	*p = simple_profile("relay", "smtp.example.org"), *q;

	put_ok(s, p, true);
	store_close(s);
	s = open_ok(db);
	q = get_ok(s, "relay");
	cr_assert_str_eq(q->host, "smtp.example.org");
	cr_assert_eq(q->revision, 1);
	cr_assert_eq(audit_count(s), 1, "the trail of the first session");
	store_close(s);
	cr_assert_eq(header_u32(db, 60), 1);
	profile_free(p);
	profile_free(q);
}

Test(store, programs_racing_to_create_the_database_all_succeed)
{
	enum { N = 6 };
	pid_t		 pid[N];
	struct store	*s;
	int		 status;

	/* Each child creates, migrates and writes; one migration wins. */
	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		cr_assert_neq(pid[i], -1);
		if (pid[i] == 0) {
			struct store	*c = NULL;
			struct profile	*p;
			char		 name[16];
			int		 rc;

			char		*why = NULL;

			if (store_open(db, "racer", &c, &why) != STORE_OK) {
				fprintf(stderr, "child %d: %s\n", i, why);
				_exit(1);
			}
			snprintf(name, sizeof name, "racer%d", i);
			p = simple_profile(name, "smtp.example.org");
			rc = store_profile_put(c, p, NULL, NULL);
			store_close(c);
			_exit(rc == STORE_OK ? 0 : 2);
		}
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d failed with %d", i, status);
	}
	s = open_ok(db);
	cr_assert_eq(count_ok(s), N);
	cr_assert_eq(audit_count(s), N);
	store_close(s);
	cr_assert_eq(header_u32(db, 60), STORE_SCHEMA_VERSION);
}

/* Profiles. */

Test(store, every_key_survives_a_round_trip)
{
	struct store	*s = open_ok(db);
	struct profile	*p = full_profile("full-1"), *q;
	bool		 changed[PROFILE_KEY_COUNT];
	size_t		 n;

	put_ok(s, p, true);
	cr_assert_eq(p->revision, 1, "put sets the new revision");
	store_close(s);

	s = open_ok(db);
	q = get_ok(s, "full-1");
	n = profile_diff(p, q, changed);
	for (int k = 0; k < PROFILE_KEY_COUNT; k++)
		cr_expect(!changed[k], "key %s changed in the store",
		    profile_key_name(k));
	cr_assert_eq(n, 0);
	cr_assert_eq(q->revision, 1);
	store_close(s);
	profile_free(p);
	profile_free(q);
}

Test(store, unset_optional_strings_come_back_null)
{
	struct store	*s = open_ok(db);
	struct profile	*p = simple_profile("bare", "smtp.example.org"), *q;

	put_ok(s, p, true);
	q = get_ok(s, "bare");
	cr_assert_null(q->password);
	cr_assert_null(q->comment);
	cr_assert_eq(q->alt_hosts_n, 0);
	cr_assert_eq(q->port, 465);
	store_close(s);
	profile_free(p);
	profile_free(q);
}

Test(store, list_is_sorted_by_name_and_counted)
{
	static const char *const names[] = {
		"mike", "alpha", "zulu", "bravo"
	};
	static const char *const sorted[] = {
		"alpha", "bravo", "mike", "zulu"
	};
	struct store	 *s = open_ok(db);
	struct profile	**v, *p;
	size_t		  n;
	char		 *cause = NULL;

	cr_assert_eq(store_profile_list(s, &v, &n, &cause), STORE_OK);
	cr_assert_eq(n, 0);
	free(v);
	for (size_t i = 0; i < 4; i++) {
		p = simple_profile(names[i], "smtp.example.org");
		put_ok(s, p, true);
		profile_free(p);
	}
	cr_assert_eq(count_ok(s), 4);
	cr_assert_eq(store_profile_list(s, &v, &n, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(v[i]->name, sorted[i]);
		cr_assert_eq(v[i]->revision, 1);
		profile_free(v[i]);
	}
	free(v);
	store_close(s);
}

Test(store, delete_removes_and_not_found_is_reported)
{
	struct store	*s = open_ok(db);
	struct profile	*p = simple_profile("gone", "smtp.example.org"), *q;
	char		*cause = NULL;

	cr_assert_eq(store_profile_get(s, "gone", &q, &cause),
	    STORE_NOT_FOUND);
	cr_assert_null(cause, "get of an absent profile sets no cause");
	put_ok(s, p, true);
	cr_assert_eq(store_profile_delete(s, "gone", &cause), STORE_OK);
	cr_assert_eq(store_profile_get(s, "gone", &q, &cause),
	    STORE_NOT_FOUND);
	cr_assert_eq(count_ok(s), 0);
	cr_assert_eq(store_profile_delete(s, "gone", &cause), STORE_NOT_FOUND);
	cr_assert(cause != NULL && strstr(cause, "'gone'") != NULL, "%s",
	    cause ? cause : "(none)");
	free(cause);
	store_close(s);
	profile_free(p);
}

Test(store, an_unchanged_put_writes_nothing)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*p = full_profile("same"), *q;
	bool		 changed;
	char		*cause = NULL;

	put_ok(a, p, true);
	cr_assert_eq(store_changed(b, &changed, &cause), STORE_OK);
	q = get_ok(a, "same");
	put_ok(a, q, false);
	cr_assert_eq(q->revision, 1, "revision unchanged");
	cr_assert_eq(audit_count(a), 1, "no audit row for no change");
	cr_assert_eq(store_changed(b, &changed, &cause), STORE_OK);
	cr_assert(!changed, "nothing was committed");
	store_close(a);
	store_close(b);
	profile_free(p);
	profile_free(q);
}

Test(store, a_stale_edit_is_refused_and_the_newer_one_kept)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*p = simple_profile("shared", "smtp.example.org");
	struct profile	*pa, *pb, *now;
	char		*cause = NULL;

	put_ok(a, p, true);
	pa = get_ok(a, "shared");
	pb = get_ok(b, "shared");
	cr_assert_eq(pa->revision, 1);
	free(pb->host);
	pb->host = xstrdup("b.example.org");
	put_ok(b, pb, true);
	cr_assert_eq(pb->revision, 2);

	free(pa->host);
	pa->host = xstrdup("a.example.org");
	cr_assert_eq(store_profile_put(a, pa, NULL, &cause), STORE_STALE);
	cr_assert(cause != NULL && strstr(cause, "'shared'") &&
	    strstr(cause, "revision 1, now 2"), "%s", cause ? cause : "");
	free(cause);
	cr_assert_eq(pa->revision, 1, "a refused put leaves the revision");
	now = get_ok(a, "shared");
	cr_assert_str_eq(now->host, "b.example.org");
	cr_assert_eq(now->revision, 2);
	cr_assert_eq(audit_count(a), 2, "create and B's update only");

	store_close(a);
	store_close(b);
	profile_free(p);
	profile_free(pa);
	profile_free(pb);
	profile_free(now);
}

Test(store, stale_when_created_or_deleted_meanwhile)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*pa = simple_profile("x", "a.example.org");
	struct profile	*pb = simple_profile("x", "b.example.org"), *now;
	char		*cause = NULL;

	/* Both believe the profile is new; B saves first. */
	put_ok(b, pb, true);
	cr_assert_eq(store_profile_put(a, pa, NULL, &cause), STORE_STALE);
	free(cause);
	cause = NULL;
	now = get_ok(a, "x");
	cr_assert_str_eq(now->host, "b.example.org");

	/* A read it; B deletes it; A's save must not bring it back. */
	cr_assert_eq(store_profile_delete(b, "x", &cause), STORE_OK);
	cr_assert_eq(store_profile_put(a, now, NULL, &cause), STORE_STALE);
	cr_assert(cause != NULL && strstr(cause, "deleted"), "%s",
	    cause ? cause : "");
	free(cause);
	cr_assert_eq(count_ok(a), 0);

	store_close(a);
	store_close(b);
	profile_free(pa);
	profile_free(pb);
	profile_free(now);
}

/* Change detection. */

Test(store, changed_reports_commits_of_other_connections_only)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*p = simple_profile("one", "smtp.example.org");
	struct profile	*q = simple_profile("two", "smtp.example.org");
	bool		 changed = true;
	char		*cause = NULL;

	cr_assert_eq(store_changed(a, &changed, &cause), STORE_OK);
	cr_assert(!changed, "nothing happened since open");
	put_ok(b, p, true);
	cr_assert_eq(store_changed(a, &changed, &cause), STORE_OK);
	cr_assert(changed, "B committed");
	cr_assert_eq(store_changed(a, &changed, &cause), STORE_OK);
	cr_assert(!changed, "reported once");
	/*
	 * PRAGMA data_version ignores the connection's own commits: A's
	 * write is not news to A, but it is to B.
	 */
	cr_assert_eq(store_changed(b, &changed, &cause), STORE_OK);
	cr_assert(!changed, "B's own write");
	put_ok(a, q, true);
	cr_assert_eq(store_changed(a, &changed, &cause), STORE_OK);
	cr_assert(!changed, "A's own write");
	cr_assert_eq(store_changed(b, &changed, &cause), STORE_OK);
	cr_assert(changed, "A's write, seen by B");
	store_close(a);
	store_close(b);
	profile_free(p);
	profile_free(q);
}

/* Audit. */

Test(store, audit_trail_names_changed_keys_never_values)
{
	struct store		*s = open_ok(db);
	struct profile		*p = simple_profile("audited", "h1.test");
	struct passwd		*pw = getpwuid(geteuid());
	struct smtp_settings	 set;
	struct audit_rows	 r;
	char			*cause = NULL;
	time_t			 start = time(NULL);

	p->auth = PROFILE_AUTH_PLAIN;
	p->username = xstrdup("user");
	p->password = xstrdup(SENTINEL);
	put_ok(s, p, true);
	free(p->host);
	p->host = xstrdup("h2.example.org");
	p->port = 2525;
	put_ok(s, p, true);
	free_secret(p->password);
	p->password = xstrdup(SENTINEL "-2");
	put_ok(s, p, true);
	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK);
	set.subject_params = true;
	free(set.subject_delimiter);
	set.subject_delimiter = xstrdup("##");
	cr_assert_eq(store_settings_put(s, &set, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	settings_clear(&set);
	cr_assert_eq(store_profile_delete(s, "audited", &cause), STORE_OK);

	audit_read(s, &r);
	cr_assert_eq(r.n, 5);
	cr_assert_str_eq(r.v[0].action, "create");
	cr_assert_str_eq(r.v[0].keys, "name,active,host,port,tls,starttls,"
	    "verify,tls_min,auth,username,password,"
	    "allow_plain_auth_without_tls,timeout,retries,retry_delay,"
	    "retry_max,max_connections");
	cr_assert_str_eq(r.v[1].action, "update");
	cr_assert_str_eq(r.v[1].keys, "host,port");
	cr_assert_str_eq(r.v[2].action, "update");
	cr_assert_str_eq(r.v[2].keys, "password");
	cr_assert_str_eq(r.v[3].action, "settings");
	cr_assert_null(r.v[3].profile);
	cr_assert_str_eq(r.v[3].keys, "subject_params,subject_delimiter");
	cr_assert_str_eq(r.v[4].action, "delete");
	for (size_t i = 0; i < r.n; i++) {
		struct audit_row *a = &r.v[i];

		cr_assert_eq(a->id, (long long)i + 1, "oldest first");
		cr_assert(a->time >= start && a->time <= time(NULL) + 1);
		cr_assert_str_eq(a->program, "gwadmin");
		cr_assert_str_eq(a->os_user, pw ? pw->pw_name : "?");
		if (i != 3)
			cr_assert_str_eq(a->profile, "audited");
		cr_assert(strstr(a->keys, SENTINEL) == NULL &&
		    strstr(a->os_user, SENTINEL) == NULL &&
		    strstr(a->program, SENTINEL) == NULL &&
		    strstr(a->action, SENTINEL) == NULL);
	}
	audit_free(&r);
	store_close(s);
	profile_free(p);
}

/* Settings. */

Test(store, settings_default_round_trip_and_default_profile_cleared)
{
	struct store		*s = open_ok(db);
	struct profile		*p = simple_profile("main", "smtp.example.org");
	struct smtp_settings	 set, def, back;
	struct audit_rows	 r;
	bool			 changed[SETTINGS_KEY_COUNT];
	char			*cause = NULL;

	settings_init(&def);
	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK);
	cr_assert_eq(settings_diff(&set, &def, changed), 0, "defaults when "
	    "nothing is stored");
	/* Writing the defaults back changes nothing. */
	cr_assert_eq(store_settings_put(s, &set, &cause), STORE_OK);
	cr_assert_eq(audit_count(s), 0);

	put_ok(s, p, true);
	set.enabled = false;
	set.default_profile = xstrdup("main");
	cr_assert_eq(store_settings_put(s, &set, &cause), STORE_OK);
	store_close(s);

	s = open_ok(db);
	cr_assert_eq(store_settings_get(s, &back, &cause), STORE_OK);
	cr_assert_eq(settings_diff(&set, &back, changed), 0);
	settings_clear(&back);

	cr_assert_eq(store_profile_delete(s, "main", &cause), STORE_OK);
	cr_assert_eq(store_settings_get(s, &back, &cause), STORE_OK);
	cr_assert_null(back.default_profile, "cleared with the profile");
	cr_assert(!back.enabled, "other settings kept");
	settings_clear(&back);

	audit_read(s, &r);
	cr_assert_eq(r.n, 4);
	cr_assert_str_eq(r.v[1].keys, "enabled,default_profile");
	cr_assert_str_eq(r.v[2].action, "delete");
	cr_assert_str_eq(r.v[3].action, "settings");
	cr_assert_str_eq(r.v[3].keys, "default_profile");
	audit_free(&r);

	settings_clear(&set);
	settings_clear(&def);
	store_close(s);
	profile_free(p);
}

/* Transactions and locking. */

static void
put_three(struct store *s)
{
	char		 name[16];
	struct profile	*p;

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "p%d", i);
		p = simple_profile(name, "smtp.example.org");
		put_ok(s, p, true);
		profile_free(p);
	}
}

Test(store, rollback_stores_nothing)
{
	struct store	*s = open_ok(db), *reader = open_ok(db);
	char		*cause = NULL;

	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	put_three(s);
	cr_assert_eq(count_ok(s), 3, "the writer sees its own changes");
	cr_assert_eq(count_ok(reader), 0, "others do not, yet");
	store_rollback(s);
	cr_assert_eq(count_ok(s), 0);
	cr_assert_eq(audit_count(s), 0, "audit rows rolled back too");
	store_close(s);
	store_close(reader);
}

Test(store, commit_stores_all_at_once)
{
	struct store	*s = open_ok(db), *reader = open_ok(db);
	char		*cause = NULL;
	bool		 changed;

	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	cr_assert_eq(store_begin(s, &cause), STORE_ERROR, "not nested");
	free(cause);
	cause = NULL;
	put_three(s);
	cr_assert_eq(count_ok(reader), 0, "no half import");
	cr_assert_eq(store_changed(reader, &changed, &cause), STORE_OK);
	cr_assert(!changed);
	cr_assert_eq(store_commit(s, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(count_ok(reader), 3);
	cr_assert_eq(store_changed(reader, &changed, &cause), STORE_OK);
	cr_assert(changed);
	cr_assert_eq(store_commit(s, &cause), STORE_ERROR, "none open");
	free(cause);
	store_close(s);
	store_close(reader);
}

Test(store, close_rolls_back_an_open_transaction)
{
	struct store	*s = open_ok(db);
	char		*cause = NULL;

	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	put_three(s);
	store_close(s);
	s = open_ok(db);
	cr_assert_eq(count_ok(s), 0);
	store_close(s);
}

static double
now_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(store, a_held_write_lock_gives_busy_after_the_timeout)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*p = simple_profile("waiting", "smtp.example.org");
	char		*cause = NULL;
	double		 t0, waited;
	int		 rc;

	put_three(a);
	cr_assert_eq(store_begin(a, &cause), STORE_OK);
	t0 = now_seconds();
	rc = store_profile_put(b, p, NULL, &cause);
	waited = now_seconds() - t0;
	cr_assert_eq(rc, STORE_BUSY, "got %d: %s", rc, cause ? cause : "");
	cr_assert(strstr(cause, "locked by another process") &&
	    strstr(cause, db), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert(waited >= 4.5, "waited the busy timeout (%.1f s)", waited);
	cr_assert_eq(p->revision, 0);
	/* Readers are not blocked by a writer (WAL). */
	cr_assert_eq(count_ok(b), 3);

	store_rollback(a);
	put_ok(b, p, true);
	store_close(a);
	store_close(b);
	profile_free(p);
}

/* Secrets on disk. */

/*
 * Stores a profile with the sentinel password, then replaces it with
 * replacement (NULL: removes it) while a second handle keeps the WAL alive,
 * as a running engine would.
 */
static void
change_password(const char *replacement)
{
	struct store	*s = open_ok(db), *reader = open_ok(db);
	struct profile	*p = simple_profile("secret", "smtp.example.org");
	struct profile	*other = simple_profile("other", "smtp.example.org");

	p->auth = PROFILE_AUTH_LOGIN;
	p->username = xstrdup("user");
	p->password = xstrdup(SENTINEL);
	put_ok(s, p, true);
	/* A neighbour, so the old row is not simply written over. */
	put_ok(s, other, true);
	cr_assert(on_disk(SENTINEL), "the search can see a stored password");

	free_secret(p->password);
	p->password = replacement != NULL ? xstrdup(replacement) : NULL;
	put_ok(s, p, true);
	cr_assert(!on_disk(SENTINEL), "old password left in the database or "
	    "its WAL while open");
	if (replacement != NULL)
		cr_assert(on_disk(replacement));
	store_close(s);
	store_close(reader);
	cr_assert(!on_disk(SENTINEL), "old password left after close");
	profile_free(p);
	profile_free(other);
}

Test(store, a_changed_password_leaves_no_copy_on_disk)
{
	change_password("an0ther-Passw0rd-that-is-quite-a-bit-longer-than-the-"
	    "first-one-so-that-its-row-moves-elsewhere-in-the-page");
}

Test(store, a_shorter_password_leaves_no_copy_on_disk)
{
	change_password("short");
}

Test(store, a_removed_password_leaves_no_copy_on_disk)
{
	change_password(NULL);
}

Test(store, a_deleted_profile_leaves_no_password_on_disk)
{
	struct store	*s = open_ok(db), *reader = open_ok(db);
	struct profile	*p = simple_profile("secret", "smtp.example.org");
	struct profile	*other = simple_profile("other", "smtp.example.org");
	char		*cause = NULL;

	p->auth = PROFILE_AUTH_PLAIN;
	p->username = xstrdup("user");
	p->password = xstrdup(SENTINEL);
	put_ok(s, p, true);
	put_ok(s, other, true);
	cr_assert(on_disk(SENTINEL));
	/* Inside an explicit transaction: the wipe follows the commit. */
	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	cr_assert_eq(store_profile_delete(s, "secret", &cause), STORE_OK);
	cr_assert_eq(store_commit(s, &cause), STORE_OK);
	cr_assert(!on_disk(SENTINEL), "deleted password left on disk");
	store_close(s);
	store_close(reader);
	cr_assert(!on_disk(SENTINEL));
	profile_free(p);
	profile_free(other);
}

Test(store, close_of_null_is_a_no_op)
{
	store_close(NULL);
	cr_assert_eq(access(db, F_OK), -1, "nothing created");
}
