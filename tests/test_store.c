/*
 * tests/test_store.c: store/store_sqlite.c: file creation and permission
 * rules, refusal of foreign or newer files, migrations, profile CRUD, stale
 * edits, change detection, the audit trail, transactions, locking, the
 * wiping of old secrets from disk, and the outbound queue (suite "queue":
 * claims, leases, outcomes, holds, purges).
 *
 * Each test runs in its own process with its own temporary directory and
 * database (tu_db()): a file there, or in the postgresql suite a new
 * PostgreSQL database, where the tests about SQLite's files skip.  Two
 * struct store handles on one database stand for two programs: the
 * database locks them against each other as it would two processes.  A
 * few checks read the database with SQLite or psql directly, as another
 * program would, where the store's interface cannot tell (a message body
 * left behind, the schema a migration made).
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/profile.h"
#include "core/queue.h"
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
	db = tu_db(dir, "gwsmtp.db");
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

/* The SQL of the backend this program runs on. */
static const char *
by_backend(const char *sqlite, const char *postgresql)
{
	return tu_pg() ? postgresql : sqlite;
}

/*
 * Runs sql on the database with SQLite itself (or psql); returns its
 * integer.
 */
static long long
sql_int(const char *sql)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	long long	 v;

	if (tu_pg()) {
		char *t = tu_psql(db, sql), *end;

		v = strtoll(t, &end, 10);
		cr_assert(*t != '\0' && *end == '\0', "%s: %s", sql, t);
		free(t);
		return v;
	}
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK, "open %s", db);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: %s", sql,
	    sqlite3_errmsg(h));
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Runs sql (statements without results) on the closed database. */
static void
sql_exec(const char *sql)
{
	sqlite3	*h = NULL;
	char	*err = NULL;

	if (tu_pg()) {
		free(tu_psql(db, sql));
		return;
	}
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK, "open %s", db);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &err), SQLITE_OK,
	    "%s: %s", sql, err ? err : "");
	sqlite3_close(h);
}

/* Runs sql on the database; returns its text (caller frees). */
static char *
sql_text(const char *sql)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	const char	*t;
	char		*v;

	if (tu_pg())
		return tu_psql(db, sql);
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK, "open %s", db);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	t = (const char *)sqlite3_column_text(st, 0);
	v = xstrdup(t != NULL ? t : "");
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* PostgreSQL's schema version, where SQLite has PRAGMA user_version. */
static const char pg_version_sql[] = "SELECT value FROM gwsmtp_meta WHERE "
    "key = 'schema_version'";

/* The schema version of the (closed) database. */
static unsigned long
schema_version(void)
{
	return tu_pg() ? (unsigned long)sql_int(pg_version_sql) :
	    header_u32(db, 60);
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
	char		*top, *gw, *path, *wal, *shm;
	struct store	*s;
	struct profile	*p;

	tu_sqlite_only("the modes of the database's directory and files");
	top = xasprintf("%s/data", dir);
	gw = xasprintf("%s/data/gwsmtp", dir);
	path = xasprintf("%s/data/gwsmtp/gwsmtp.db", dir);
	wal = xasprintf("%s-wal", path);
	shm = xasprintf("%s-shm", path);
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
	char		*path, *sub;
	struct store	*s;
	struct profile	*p;

	tu_sqlite_only("the modes of the database's directory and file");
	path = xasprintf("%s/new/gwsmtp.db", dir);
	sub = xasprintf("%s/new", dir);
	p = simple_profile("relay", "smtp.example.org");
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

	tu_sqlite_only("the mode of the database's directory");
	cr_assert_eq(chmod(dir, 0755), 0);
	s = open_ok(db);
	store_close(s);
	cr_assert_eq(mode_of(dir), 0755, "only directories it creates are "
	    "made 0700");
}

Test(store, refuses_database_open_to_group_or_others)
{
	static const mode_t	 modes[] = { 0644, 0660, 0604, 0602 };
	struct store		*s;
	char			*cause, *fix;

	tu_sqlite_only("the database file's mode");
	s = open_ok(db);
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
	struct store	*s;
	char		*side, *cause;

	tu_sqlite_only("the -wal and -shm files");
	s = open_ok(db);
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

	tu_sqlite_only("a file that is no database");
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
	tu_db_set_version(db, 99);
	cause = open_refused(db, STORE_BADFILE);
	cr_assert(strstr(cause, "newer") != NULL && strstr(cause, "99") &&
	    strstr(cause, "upgrade"), "%s", cause);
	free(cause);
	cr_assert_eq(schema_version(), 99, "not downgraded");
}

Test(store, refuses_another_programs_sqlite_database)
{
	struct store	*s;
	char		*cause;

	tu_sqlite_only("the SQLite header's version and application id");
	s = open_ok(db);
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
	char	*sub, *link, *cause;

	tu_sqlite_only("a directory or symbolic link for the file");
	sub = xasprintf("%s/adir", dir);
	link = xasprintf("%s/l", dir);
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
	cr_assert_eq(schema_version(), STORE_SCHEMA_VERSION);
	if (!tu_pg())
		cr_assert_eq(header_u32(db, 68), 0x6777736d, "application id "
		    "'gwsm'");
	profile_free(p);
}

Test(store, migrates_an_empty_file)
{
	struct store	*s;
	struct profile	*p;
	struct smtp_settings set;
	bool		 changed;
	char		*cause = NULL;

	tu_sqlite_only("an empty file");
	p = simple_profile("relay", "smtp.example.org");
	tu_write_file(db, "", 0);
	s = open_ok(db);
	put_ok(s, p, true);
	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK);
	cr_assert_eq(store_changed(s, &changed, &cause), STORE_OK);
	settings_clear(&set);
	store_close(s);
	cr_assert_eq(header_u32(db, 60), STORE_SCHEMA_VERSION);
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
	cr_assert_eq(schema_version(), STORE_SCHEMA_VERSION);
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
	cr_assert_eq(schema_version(), STORE_SCHEMA_VERSION);
}

/*
 * The queue tables, indexes included, as sqlite_schema holds them; on
 * PostgreSQL their columns, indexes, constraints and sequences as its
 * catalogs describe them.
 */
static const char queue_schema_sql[] = "SELECT group_concat(sql, ';') FROM "
    "(SELECT sql FROM sqlite_schema WHERE tbl_name LIKE 'queue%' "
    "ORDER BY name)";
static const char pg_queue_schema_sql[] = "SELECT string_agg(d, ';' "
    "ORDER BY d) FROM ("
    "SELECT table_name || '.' || column_name || ' ' || data_type || "
    "coalesce(' collate ' || collation_name, '') || ' ' || is_nullable || "
    "' ' || is_identity || coalesce(' default ' || column_default, '') AS d "
    "FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name LIKE 'queue%' "
    "UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = "
    "current_schema() AND tablename LIKE 'queue%' "
    "UNION ALL SELECT conrelid::regclass || ' ' || "
    "pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid::regclass"
    "::text LIKE 'queue%' "
    "UNION ALL SELECT 'sequence ' || sequencename FROM pg_sequences WHERE "
    "schemaname = current_schema() AND sequencename LIKE 'queue%') AS s";

Test(store, migrates_a_version_1_database_keeping_its_profiles)
{
	struct store		*s = open_ok(db);
	struct profile		*p = full_profile("kept"), *q;
	struct store_qmsg	*v = NULL;
	bool			 changed[PROFILE_KEY_COUNT];
	char			*want, *got, *cause = NULL;
	size_t			 n = 9;

	put_ok(s, p, true);
	store_close(s);
	want = sql_text(by_backend(queue_schema_sql, pg_queue_schema_sql));
	cr_assert(strstr(want, by_backend("CREATE TABLE queue_data",
	    "queue_data.data bytea")) != NULL, "%s", want);

	/*
	 * Back to what version 1 wrote: the 0 -> 1 step made profiles,
	 * settings and audit and nothing else, and it is never edited.
	 */
	sql_exec(by_backend("DROP TABLE queue_data; DROP TABLE queue_rcpt; "
	    "DROP TABLE queue; PRAGMA user_version = 1;",
	    "DROP TABLE queue_data; DROP TABLE queue_rcpt; DROP TABLE queue; "
	    "DROP SEQUENCE queue_claim; UPDATE gwsmtp_meta SET value = '1' "
	    "WHERE key = 'schema_version'"));
	cr_assert_eq(schema_version(), 1);
	cr_assert_eq(sql_int(by_backend("SELECT count(*) FROM sqlite_schema "
	    "WHERE tbl_name LIKE 'queue%'", "SELECT count(*) FROM pg_class "
	    "WHERE relnamespace = current_schema()::regnamespace AND relname "
	    "LIKE 'queue%'")), 0, "no queue in version 1");

	s = open_ok(db);
	cr_assert_eq(sql_int(by_backend("PRAGMA user_version",
	    pg_version_sql)), 2, "migrated on open");
	q = get_ok(s, "kept");
	cr_assert_eq(profile_diff(p, q, changed), 0, "the profile is intact");
	cr_assert_eq(q->revision, 1);
	cr_assert_eq(audit_count(s), 1, "the trail is intact");
	cr_assert_eq(store_queue_list(s, &v, &n, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(n, 0);
	store_qmsg_free_array(v, n);
	store_close(s);
	cr_assert_eq(schema_version(), 2);

	got = sql_text(by_backend(queue_schema_sql, pg_queue_schema_sql));
	cr_assert_str_eq(got, want, "the same queue schema as a new database");
	free(want);
	free(got);
	profile_free(p);
	profile_free(q);
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

/*
 * Whether s sees another connection's commit within ms, polling its
 * notification descriptor: SQLite's data_version tells at once (so there
 * both waits are 0), while PostgreSQL's NOTIFY arrives a moment after the
 * commit.  A "no" is waited for NO_NEWS_MS on PostgreSQL (a notification
 * late by more would be missed, never invented).
 */
#define NEWS_MS		(tu_pg() ? 10000 : 0)
#define NO_NEWS_MS	(tu_pg() ? 500 : 0)

static bool
changed_within(struct store *s, int ms)
{
	long long end = tu_now_ms() + ms, left;
	bool changed = false;
	char *cause = NULL;
	int fd = store_notify_fd(s, &cause);

	free(cause);
	cause = NULL;
	for (;;) {
		cr_assert_eq(store_changed(s, &changed, &cause), STORE_OK,
		    "%s", cause ? cause : "");
		if (changed)
			return true;
		if ((left = end - tu_now_ms()) <= 0)
			return false;
		if (fd == -1 || poll(&(struct pollfd){ fd, POLLIN, 0 }, 1,
		    (int)left) == -1)
			usleep(10000);
	}
}

Test(store, an_unchanged_put_writes_nothing)
{
	struct store	*a = open_ok(db), *b = open_ok(db);
	struct profile	*p = full_profile("same"), *q;

	put_ok(a, p, true);
	cr_assert(changed_within(b, NEWS_MS), "the first put");
	q = get_ok(a, "same");
	put_ok(a, q, false);
	cr_assert_eq(q->revision, 1, "revision unchanged");
	cr_assert_eq(audit_count(a), 1, "no audit row for no change");
	cr_assert(!changed_within(b, NO_NEWS_MS), "nothing was committed");
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
	cr_assert(changed_within(a, NEWS_MS), "B committed");
	cr_assert_eq(store_changed(a, &changed, &cause), STORE_OK);
	cr_assert(!changed, "reported once");
	/*
	 * PRAGMA data_version ignores the connection's own commits: A's
	 * write is not news to A, but it is to B.
	 */
	cr_assert(!changed_within(b, NO_NEWS_MS), "B's own write");
	put_ok(a, q, true);
	cr_assert(!changed_within(a, NO_NEWS_MS), "A's own write");
	cr_assert(changed_within(b, NEWS_MS), "A's write, seen by B");
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
	/*
	 * SQLite takes the write lock at BEGIN (IMMEDIATE); PostgreSQL's
	 * backend at the transaction's first change to the configuration.
	 */
	if (tu_pg()) {
		struct profile *first = simple_profile("first", "a.example.org");

		put_ok(a, first, true);
		profile_free(first);
	}
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
	struct store	*s, *reader;
	struct profile	*p, *other;

	tu_sqlite_only("secure_delete: the bytes of the file and its -wal");
	s = open_ok(db);
	reader = open_ok(db);
	p = simple_profile("secret", "smtp.example.org");
	other = simple_profile("other", "smtp.example.org");
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
	struct store	*s, *reader;
	struct profile	*p, *other;
	char		*cause = NULL;

	tu_sqlite_only("secure_delete: the bytes of the file and its -wal");
	s = open_ok(db);
	reader = open_ok(db);
	p = simple_profile("secret", "smtp.example.org");
	other = simple_profile("other", "smtp.example.org");
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

/* The outbound queue. */

TestSuite(queue, .init = setup, .fini = teardown);

static const char *const one_rcpt[] = { "ops@example.org", NULL };
static const char *const three_rcpt[] = {
	"a@example.org", "b@example.org", "c@example.org", NULL
};

/*
 * Fills m with a message of profile, submitted at submitted, to the
 * NULL-terminated addresses rcpt.  Every field is allocated, as a caller's
 * would be, so that store_qmsg_clear() frees it.
 */
static void
qmsg_make(struct store_qmsg *m, const char *profile, time_t submitted,
    const char *const *rcpt)
{
	static int	seq;
	size_t		n = 0, i;

	memset(m, 0, sizeof *m);
	seq++;
	m->message_id = xasprintf("<%d.%lld@gw.example.org>", seq,
	    (long long)submitted);
	m->profile = xstrdup(profile);
	m->sender = xstrdup("gw@example.org");
	while (rcpt[n] != NULL)
		n++;
	m->rcpt = xcalloc(n ? n : 1, sizeof *m->rcpt);
	for (i = 0; i < n; i++)
		m->rcpt[i].addr = xstrdup(rcpt[i]);
	m->nrcpt = n;
	m->data = xasprintf("Message-ID: %s\r\nSubject: number %d\r\n\r\n"
	    "Body of number %d.\r\n", m->message_id, seq, seq);
	m->datalen = strlen(m->data);
	m->size = m->datalen;
	m->submitted = submitted;
}

static void
add_ok(struct store *s, struct store_qmsg *m)
{
	char	*cause = NULL;
	int	 rc;

	rc = store_queue_add(s, m, &cause);
	cr_assert_eq(rc, STORE_OK, "add: %d %s", rc, cause ? cause : "");
	cr_assert_gt(m->id, 0, "add sets the id");
}

/* Queues a one-recipient message; returns its id. */
static long long
enqueue(struct store *s, const char *profile, time_t submitted)
{
	struct store_qmsg	m;
	long long		id;

	qmsg_make(&m, profile, submitted, one_rcpt);
	add_ok(s, &m);
	id = m.id;
	store_qmsg_clear(&m);
	return id;
}

static size_t
claim(struct store *s, const char *profile, const char *owner, time_t now,
    time_t until, size_t max, struct store_qmsg **v)
{
	size_t	 n = 99;
	char	*cause = NULL;
	int	 rc;

	rc = store_queue_claim(s, profile, owner, now, until, max, v, &n,
	    &cause);
	cr_assert_eq(rc, STORE_OK, "claim: %d %s", rc, cause ? cause : "");
	cr_assert_leq(n, max);
	return n;
}

/* Claims, checks which ids came in which order, and frees them. */
static void
claim_ids(struct store *s, const char *profile, const char *owner,
    time_t now, time_t until, size_t max, const long long *want,
    size_t nwant)
{
	struct store_qmsg	*v = NULL;
	size_t			 n, i;

	n = claim(s, profile, owner, now, until, max, &v);
	cr_assert_eq(n, nwant, "%s claimed %zu at %lld, want %zu", owner, n,
	    (long long)now, nwant);
	for (i = 0; i < n; i++)
		cr_assert_eq(v[i].id, want[i], "claim %zu: got %lld, want %lld",
		    i, v[i].id, want[i]);
	store_qmsg_free_array(v, n);
}

static void
qget(struct store *s, long long id, struct store_qmsg *m)
{
	char	*cause = NULL;
	int	 rc;

	rc = store_queue_get(s, id, m, &cause);
	cr_assert_eq(rc, STORE_OK, "get %lld: %d %s", id, rc,
	    cause ? cause : "");
	cr_assert_null(m->data, "get never reads the data");
}

static enum queue_state
state_of(struct store *s, long long id)
{
	struct store_qmsg	m;
	enum queue_state	st;

	qget(s, id, &m);
	st = m.state;
	store_qmsg_clear(&m);
	return st;
}

/* Records m for owner at now; returns the status. */
static int
record(struct store *s, const struct store_qmsg *m, const char *owner,
    time_t now)
{
	char	*cause = NULL;
	int	 rc;

	rc = store_queue_record(s, m, owner, now, &cause);
	if (rc == STORE_STALE)
		cr_assert(cause != NULL && strstr(cause, owner) != NULL,
		    "a stale record says whose: %s", cause ? cause : "");
	else
		cr_assert(rc == STORE_OK || cause != NULL);
	free(cause);
	return rc;
}

static void
set_reply(char **field, const char *reply)
{
	free(*field);
	*field = reply != NULL ? xstrdup(reply) : NULL;
}

/* What an attempt that delivered to every recipient makes of m. */
static void
decide_sent(struct store_qmsg *m, time_t now)
{
	for (size_t i = 0; i < m->nrcpt; i++) {
		m->rcpt[i].state = QUEUE_RCPT_SENT;
		m->rcpt[i].code = 250;
		set_reply(&m->rcpt[i].reply, "250 2.0.0 Ok: queued");
	}
	m->state = QUEUE_SENT;
	m->attempts++;
	m->next_attempt = now;
	set_reply(&m->last_reply, "250 2.0.0 Ok: queued");
}

/* What an attempt that reached no server makes of m. */
static void
decide_deferred(struct store_qmsg *m, time_t next)
{
	m->state = QUEUE_DEFERRED;
	m->attempts++;
	m->next_attempt = next;
	set_reply(&m->last_reply, "connection refused");
}

static long long
data_rows(long long id)
{
	char		*sql;
	long long	 n;

	sql = xasprintf("SELECT count(*) FROM queue_data WHERE msg = %lld",
	    id);
	n = sql_int(sql);
	free(sql);
	return n;
}

static void
assert_as_queued(const struct store_qmsg *got, const struct store_qmsg *want)
{
	cr_assert_eq(got->id, want->id);
	cr_assert_str_eq(got->message_id, want->message_id);
	cr_assert_str_eq(got->profile, want->profile);
	cr_assert_str_eq(got->sender, want->sender);
	cr_assert_eq(got->state, QUEUE_QUEUED);
	cr_assert_eq(got->attempts, 0);
	cr_assert(!got->held);
	cr_assert_eq(got->submitted, want->submitted);
	cr_assert_eq(got->next_attempt, want->submitted, "due at once");
	cr_assert_eq(got->updated, want->submitted);
	cr_assert_null(got->last_reply);
	cr_assert_eq(got->size, want->size);
	cr_assert_null(got->data, "no data in listings");
	cr_assert_eq(got->datalen, 0);
	cr_assert_eq(got->nrcpt, want->nrcpt);
	for (size_t i = 0; i < got->nrcpt; i++) {
		cr_assert_str_eq(got->rcpt[i].addr, want->rcpt[i].addr,
		    "recipient %zu in order", i);
		cr_assert_eq(got->rcpt[i].state, QUEUE_RCPT_PENDING);
		cr_assert_eq(got->rcpt[i].code, 0);
		cr_assert_null(got->rcpt[i].reply);
	}
}

Test(queue, add_then_list_and_get_round_trip)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	 a, b, g, *v = NULL;
	size_t			 n = 0;
	char			*cause = NULL;

	qmsg_make(&a, "relay", 1000, three_rcpt);
	qmsg_make(&b, "backup", 900, one_rcpt);
	add_ok(s, &a);
	add_ok(s, &b);
	cr_assert_gt(b.id, a.id);

	cr_assert_eq(store_queue_list(s, &v, &n, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(n, 2);
	assert_as_queued(&v[0], &a);
	assert_as_queued(&v[1], &b);
	store_qmsg_free_array(v, n);

	qget(s, a.id, &g);
	assert_as_queued(&g, &a);
	store_qmsg_clear(&g);
	cr_assert_null(g.message_id, "clear zeroes");
	cr_assert_eq(store_queue_get(s, b.id + 100, &g, &cause),
	    STORE_NOT_FOUND);
	cr_assert_null(cause, "an absent message sets no cause");

	/* Durable: another session sees the same. */
	store_close(s);
	s = open_ok(db);
	cr_assert_eq(store_queue_list(s, &v, &n, &cause), STORE_OK);
	cr_assert_eq(n, 2);
	assert_as_queued(&v[0], &a);
	assert_as_queued(&v[1], &b);
	store_qmsg_free_array(v, n);
	store_qmsg_clear(&a);
	store_qmsg_clear(&b);
	store_qmsg_clear(NULL);
	store_close(s);
}

Test(queue, add_refuses_an_incomplete_message)
{
	static const char *const why[] = {
		"recipient", "Message-ID", "profile", "sender", "data"
	};
	struct store		*s = open_ok(db);
	struct store_qmsg	 m, *v = NULL;
	size_t			 n = 9;
	char			*cause;

	for (size_t i = 0; i < sizeof why / sizeof why[0]; i++) {
		qmsg_make(&m, "relay", 100, one_rcpt);
		switch (i) {
		case 0:
			free(m.rcpt[0].addr);
			free(m.rcpt);
			m.rcpt = NULL;
			m.nrcpt = 0;
			break;
		case 1:
			set_reply(&m.message_id, NULL);
			break;
		case 2:
			set_reply(&m.profile, NULL);
			break;
		case 3:
			set_reply(&m.sender, NULL);
			break;
		case 4:
			set_reply(&m.data, NULL);
			break;
		}
		cause = NULL;
		cr_assert_eq(store_queue_add(s, &m, &cause), STORE_ERROR,
		    "without %s", why[i]);
		cr_assert(cause != NULL && strstr(cause, why[i]) != NULL,
		    "the refusal names the %s: %s", why[i], cause ? cause : "");
		cr_assert_eq(m.id, 0);
		free(cause);
		store_qmsg_clear(&m);
	}
	cr_assert_eq(store_queue_list(s, &v, &n, &cause), STORE_OK);
	cr_assert_eq(n, 0, "nothing was queued");
	store_qmsg_free_array(v, n);
	store_close(s);
}

Test(queue, claim_returns_the_data_and_marks_sending)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	 m, g, *v = NULL;

	qmsg_make(&m, "relay", 100, three_rcpt);
	add_ok(s, &m);
	cr_assert_eq(claim(s, "relay", "engine-1", 120, 180, 10, &v), 1);
	cr_assert_eq(v[0].id, m.id);
	cr_assert_eq(v[0].state, QUEUE_SENDING);
	cr_assert_eq(v[0].updated, 120);
	cr_assert_eq(v[0].next_attempt, 100);
	cr_assert_str_eq(v[0].message_id, m.message_id);
	cr_assert_str_eq(v[0].sender, m.sender);
	cr_assert_eq(v[0].datalen, m.datalen);
	cr_assert_eq(v[0].size, m.size);
	cr_assert_not_null(v[0].data);
	cr_assert(memcmp(v[0].data, m.data, m.datalen) == 0, "the data");
	cr_assert_eq(v[0].data[v[0].datalen], '\0', "NUL-terminated");
	cr_assert_eq(v[0].nrcpt, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(v[0].rcpt[i].addr, m.rcpt[i].addr);
		cr_assert_eq(v[0].rcpt[i].state, QUEUE_RCPT_PENDING);
	}
	store_qmsg_free_array(v, 1);

	qget(s, m.id, &g);
	cr_assert_eq(g.state, QUEUE_SENDING);
	cr_assert_eq(g.updated, 120);
	store_qmsg_clear(&g);

	/* Under a live lease it is nobody's to claim, not even its owner's. */
	cr_assert_eq(claim(s, "relay", "engine-2", 179, 240, 10, &v), 0);
	cr_assert_null(v);
	cr_assert_eq(claim(s, "relay", "engine-1", 179, 240, 10, &v), 0);
	store_qmsg_clear(&m);
	store_close(s);
}

Test(queue, claim_takes_the_oldest_due_of_its_profile_up_to_max)
{
	struct store	*s = open_ok(db);
	long long	 r1, r2, r3, r4, r5, o1;

	r1 = enqueue(s, "relay", 130);
	r2 = enqueue(s, "relay", 110);
	r3 = enqueue(s, "relay", 120);
	r5 = enqueue(s, "relay", 110);
	r4 = enqueue(s, "relay", 200);
	o1 = enqueue(s, "other", 100);

	claim_ids(s, "relay", "e", 150, 400, 0, NULL, 0);
	cr_assert_eq(state_of(s, r2), QUEUE_QUEUED, "max 0 claims nothing");
	/* By next attempt, then by id. */
	claim_ids(s, "relay", "e", 150, 400, 2, (long long[]){ r2, r5 }, 2);
	claim_ids(s, "relay", "e", 150, 400, 10, (long long[]){ r3, r1 }, 2);
	claim_ids(s, "relay", "e", 150, 400, 10, NULL, 0);
	cr_assert_eq(state_of(s, r4), QUEUE_QUEUED, "not due before 200");
	claim_ids(s, "relay", "e", 200, 400, 10, (long long[]){ r4 }, 1);
	claim_ids(s, "nobody", "e", 200, 400, 10, NULL, 0);
	cr_assert_eq(state_of(s, o1), QUEUE_QUEUED, "other profiles wait");
	claim_ids(s, "other", "e", 200, 400, 10, (long long[]){ o1 }, 1);
	store_close(s);
}

Test(queue, a_lease_that_ended_is_claimed_again)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*va = NULL, *vb = NULL, g;
	long long		 id = enqueue(s, "relay", 100), waiting, lapsed;

	cr_assert_eq(claim(s, "relay", "engine-a", 100, 160, 5, &va), 1);
	claim_ids(s, "relay", "engine-b", 159, 220, 5, NULL, 0);
	cr_assert_eq(claim(s, "relay", "engine-b", 160, 220, 5, &vb), 1,
	    "taken once lease_until <= now");
	cr_assert_eq(vb[0].id, id);
	cr_assert_not_null(vb[0].data, "with its data");

	/* A comes back late: B holds it now. */
	decide_sent(&va[0], 170);
	cr_assert_eq(record(s, &va[0], "engine-a", 170), STORE_STALE);
	qget(s, id, &g);
	cr_assert_eq(g.state, QUEUE_SENDING, "A wrote nothing");
	cr_assert_eq(g.attempts, 0);
	cr_assert_eq(g.rcpt[0].state, QUEUE_RCPT_PENDING);
	store_qmsg_clear(&g);
	cr_assert_eq(data_rows(id), 1, "the data is still there for B");

	decide_sent(&vb[0], 180);
	cr_assert_eq(record(s, &vb[0], "engine-b", 180), STORE_OK);
	cr_assert_eq(state_of(s, id), QUEUE_SENT);
	store_qmsg_free_array(va, 1);
	store_qmsg_free_array(vb, 1);

	/* A lapsed lease takes its turn by next attempt among the waiting. */
	waiting = enqueue(s, "relay", 300);
	lapsed = enqueue(s, "relay", 250);
	claim_ids(s, "relay", "engine-a", 250, 260, 1, (long long[]){ lapsed },
	    1);
	claim_ids(s, "relay", "engine-c", 400, 460, 1, (long long[]){ lapsed },
	    1);
	claim_ids(s, "relay", "engine-c", 400, 460, 5, (long long[]){ waiting },
	    1);
	store_close(s);
}

Test(queue, record_writes_the_outcome_and_each_recipient)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	 m, g, *v = NULL;
	char			*sql;

	qmsg_make(&m, "relay", 100, three_rcpt);
	add_ok(s, &m);
	cr_assert_eq(claim(s, "relay", "engine-a", 100, 160, 5, &v), 1);
	v[0].rcpt[0].state = QUEUE_RCPT_SENT;
	v[0].rcpt[0].code = 250;
	set_reply(&v[0].rcpt[0].reply, "250 2.0.0 Ok");
	v[0].rcpt[1].state = QUEUE_RCPT_FAILED;
	v[0].rcpt[1].code = 550;
	set_reply(&v[0].rcpt[1].reply, "550 5.1.1 no such user");
	v[0].rcpt[2].code = 451;
	set_reply(&v[0].rcpt[2].reply, "451 4.3.0 try later");
	v[0].state = QUEUE_DEFERRED;
	v[0].attempts = 1;
	v[0].held = true;
	v[0].next_attempt = 400;
	set_reply(&v[0].last_reply, "451 4.3.0 try later");
	cr_assert_eq(record(s, &v[0], "engine-a", 130), STORE_OK);

	qget(s, m.id, &g);
	cr_assert_eq(g.state, QUEUE_DEFERRED);
	cr_assert_eq(g.attempts, 1);
	cr_assert(g.held);
	cr_assert_eq(g.next_attempt, 400);
	cr_assert_eq(g.updated, 130);
	cr_assert_eq(g.submitted, 100);
	cr_assert_str_eq(g.last_reply, "451 4.3.0 try later");
	cr_assert_eq(g.nrcpt, 3);
	cr_assert_eq(g.rcpt[0].state, QUEUE_RCPT_SENT);
	cr_assert_eq(g.rcpt[0].code, 250);
	cr_assert_str_eq(g.rcpt[0].reply, "250 2.0.0 Ok");
	cr_assert_eq(g.rcpt[1].state, QUEUE_RCPT_FAILED);
	cr_assert_eq(g.rcpt[1].code, 550);
	cr_assert_str_eq(g.rcpt[1].reply, "550 5.1.1 no such user");
	cr_assert_eq(g.rcpt[2].state, QUEUE_RCPT_PENDING);
	cr_assert_eq(g.rcpt[2].code, 451);
	cr_assert_str_eq(g.rcpt[2].reply, "451 4.3.0 try later");
	store_qmsg_clear(&g);
	sql = xasprintf("SELECT count(*) FROM queue WHERE id = %lld AND "
	    "lease_owner IS NULL AND lease_until IS NULL", m.id);
	cr_assert_eq(sql_int(sql), 1, "the lease ended");
	free(sql);
	cr_assert_eq(data_rows(m.id), 1, "a deferred message keeps its data");
	store_qmsg_free_array(v, 1);

	/* Due again at 400, with what the first attempt settled. */
	claim_ids(s, "relay", "engine-b", 399, 460, 5, NULL, 0);
	cr_assert_eq(claim(s, "relay", "engine-b", 400, 460, 5, &v), 1);
	cr_assert(memcmp(v[0].data, m.data, m.datalen) == 0);
	cr_assert_eq(v[0].rcpt[0].state, QUEUE_RCPT_SENT);
	cr_assert_eq(v[0].rcpt[1].state, QUEUE_RCPT_FAILED);
	cr_assert_eq(v[0].rcpt[2].state, QUEUE_RCPT_PENDING);
	cr_assert_eq(v[0].attempts, 1);

	/* Given up without a reply: code 0 is stored as no code. */
	v[0].rcpt[2].state = QUEUE_RCPT_FAILED;
	v[0].rcpt[2].code = 0;
	set_reply(&v[0].rcpt[2].reply, NULL);
	v[0].state = QUEUE_SENT;
	v[0].attempts = 2;
	v[0].held = false;
	v[0].next_attempt = 410;
	cr_assert_eq(record(s, &v[0], "engine-b", 410), STORE_OK);
	qget(s, m.id, &g);
	cr_assert_eq(g.state, QUEUE_SENT);
	cr_assert_eq(g.attempts, 2);
	cr_assert(!g.held);
	cr_assert_eq(g.rcpt[2].state, QUEUE_RCPT_FAILED);
	cr_assert_eq(g.rcpt[2].code, 0);
	cr_assert_null(g.rcpt[2].reply);
	store_qmsg_clear(&g);
	sql = xasprintf("SELECT count(*) FROM queue_rcpt WHERE msg = %lld AND "
	    "idx = 2 AND code IS NULL AND reply IS NULL", m.id);
	cr_assert_eq(sql_int(sql), 1, "code 0 is NULL in the table");
	free(sql);
	store_qmsg_free_array(v, 1);
	store_qmsg_clear(&m);
	store_close(s);
}

Test(queue, a_final_record_drops_the_data)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL, *l = NULL;
	struct store_qdue	*due = NULL;
	size_t			 n;
	time_t			 next;
	char			*cause = NULL;
	long long		 a, b, c;

	a = enqueue(s, "relay", 100);
	b = enqueue(s, "relay", 100);
	c = enqueue(s, "relay", 100);
	cr_assert_eq(claim(s, "relay", "e", 100, 160, 3, &v), 3);
	decide_sent(&v[0], 120);
	cr_assert_eq(record(s, &v[0], "e", 120), STORE_OK);
	v[1].rcpt[0].state = QUEUE_RCPT_FAILED;
	v[1].rcpt[0].code = 550;
	v[1].state = QUEUE_FAILED;
	v[1].attempts = 1;
	cr_assert_eq(record(s, &v[1], "e", 120), STORE_OK);
	decide_deferred(&v[2], 130);
	cr_assert_eq(record(s, &v[2], "e", 120), STORE_OK);
	store_qmsg_free_array(v, 3);

	cr_assert_eq(data_rows(a), 0, "sent: data deleted");
	cr_assert_eq(data_rows(b), 0, "failed: data deleted");
	cr_assert_eq(data_rows(c), 1, "deferred: data kept");
	cr_assert_eq(store_queue_list(s, &l, &n, &cause), STORE_OK);
	cr_assert_eq(n, 3, "the messages stay until a purge");
	cr_assert_eq(l[0].state, QUEUE_SENT);
	cr_assert_eq(l[1].state, QUEUE_FAILED);
	cr_assert_eq(l[1].rcpt[0].code, 550);
	store_qmsg_free_array(l, n);

	/* Final messages are never due again. */
	claim_ids(s, "relay", "e", 2000000000, 2000000060, 10,
	    (long long[]){ c }, 1);
	cr_assert_eq(store_queue_due(s, 2000000000, &due, &n, &next, &cause),
	    STORE_OK);
	cr_assert_eq(n, 0);
	free(due);
	store_close(s);
}

Test(queue, record_is_stale_for_another_owner_or_after_release)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL, g;
	size_t			 n = 9;
	char			*cause = NULL;
	long long		 id = enqueue(s, "relay", 100);

	cr_assert_eq(claim(s, "relay", "engine-a", 100, 160, 1, &v), 1);
	decide_sent(&v[0], 110);
	cr_assert_eq(record(s, &v[0], "engine-b", 110), STORE_STALE,
	    "not B's to record");
	cr_assert_eq(state_of(s, id), QUEUE_SENDING);

	cr_assert_eq(store_queue_release(s, "engine-a", &n, &cause), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(record(s, &v[0], "engine-a", 120), STORE_STALE,
	    "released: no longer A's");
	qget(s, id, &g);
	cr_assert_eq(g.state, QUEUE_QUEUED, "nothing was written");
	cr_assert_eq(g.attempts, 0);
	cr_assert_null(g.last_reply);
	cr_assert_eq(g.updated, 100);
	cr_assert_eq(g.rcpt[0].state, QUEUE_RCPT_PENDING);
	cr_assert_eq(g.rcpt[0].code, 0);
	store_qmsg_clear(&g);
	cr_assert_eq(data_rows(id), 1, "a stale final record keeps the data");

	/* A state that would strand it is refused before anything. */
	store_qmsg_free_array(v, 1);
	cr_assert_eq(claim(s, "relay", "engine-a", 130, 190, 1, &v), 1);
	v[0].state = QUEUE_SENDING;
	cr_assert_eq(store_queue_record(s, &v[0], "engine-a", 140, &cause),
	    STORE_ERROR);
	cr_assert_not_null(cause);
	free(cause);
	cr_assert_eq(state_of(s, id), QUEUE_SENDING);
	decide_deferred(&v[0], 500);
	cr_assert_eq(record(s, &v[0], "engine-a", 140), STORE_OK,
	    "still A's: the refusal wrote nothing");
	store_qmsg_free_array(v, 1);
	store_close(s);
}

Test(queue, records_grouped_in_one_transaction)
{
	enum { N = 10 };
	struct store		*s = open_ok(db), *reader = open_ok(db);
	struct store_qmsg	*v = NULL, *l = NULL;
	size_t			 n, i;
	char			*cause = NULL;

	for (i = 0; i < N; i++)
		enqueue(s, "relay", 100);
	cr_assert_eq(claim(s, "relay", "e", 100, 160, N, &v), N);
	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	for (i = 0; i < N; i++) {
		decide_sent(&v[i], 110);
		cr_assert_eq(record(s, &v[i], "e", 110), STORE_OK);
	}
	/* A stale record inside does not spoil the others. */
	cr_assert_eq(record(s, &v[0], "e", 110), STORE_STALE);

	cr_assert_eq(store_queue_list(reader, &l, &n, &cause), STORE_OK);
	cr_assert_eq(n, N);
	for (i = 0; i < n; i++)
		cr_assert_eq(l[i].state, QUEUE_SENDING, "not committed yet");
	store_qmsg_free_array(l, n);

	cr_assert_eq(store_commit(s, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(store_queue_list(reader, &l, &n, &cause), STORE_OK);
	cr_assert_eq(n, N);
	for (i = 0; i < n; i++) {
		cr_assert_eq(l[i].state, QUEUE_SENT);
		cr_assert_eq(l[i].attempts, 1);
	}
	store_qmsg_free_array(l, n);
	cr_assert_eq(sql_int("SELECT count(*) FROM queue_data"), 0);
	store_qmsg_free_array(v, N);
	store_close(s);
	store_close(reader);
}

Test(queue, a_claim_inside_a_transaction_follows_it)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL;
	char			*cause = NULL;
	long long		 id = enqueue(s, "relay", 100);

	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	cr_assert_eq(claim(s, "relay", "e", 100, 160, 5, &v), 1);
	store_qmsg_free_array(v, 1);
	cr_assert_eq(state_of(s, id), QUEUE_SENDING);
	store_rollback(s);
	cr_assert_eq(state_of(s, id), QUEUE_QUEUED, "rolled back with it");
	claim_ids(s, "relay", "e", 100, 160, 5, (long long[]){ id }, 1);
	store_close(s);
}

Test(queue, release_gives_back_queued_or_deferred)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL, g;
	size_t			 n = 9;
	char			*cause = NULL;
	long long		 m1, m2, m3;

	m1 = enqueue(s, "relay", 100);
	m2 = enqueue(s, "relay", 100);
	m3 = enqueue(s, "relay", 100);
	cr_assert_eq(claim(s, "relay", "engine-a", 100, 1000, 2, &v), 2);
	claim_ids(s, "relay", "engine-b", 100, 1000, 1, (long long[]){ m3 }, 1);
	cr_assert_eq(v[1].id, m2);
	decide_deferred(&v[1], 200);
	cr_assert_eq(record(s, &v[1], "engine-a", 110), STORE_OK);
	store_qmsg_free_array(v, 2);
	claim_ids(s, "relay", "engine-a", 200, 1000, 5, (long long[]){ m2 }, 1);

	cr_assert_eq(store_queue_release(s, "engine-a", &n, &cause), STORE_OK);
	cr_assert_eq(n, 2);
	qget(s, m1, &g);
	cr_assert_eq(g.state, QUEUE_QUEUED, "never tried");
	cr_assert_eq(g.next_attempt, 100, "due as it was");
	cr_assert_eq(g.attempts, 0);
	store_qmsg_clear(&g);
	qget(s, m2, &g);
	cr_assert_eq(g.state, QUEUE_DEFERRED, "tried once");
	cr_assert_eq(g.next_attempt, 200);
	cr_assert_eq(g.attempts, 1);
	store_qmsg_clear(&g);
	cr_assert_eq(state_of(s, m3), QUEUE_SENDING, "B's is B's");
	cr_assert_eq(sql_int("SELECT count(*) FROM queue WHERE "
	    "lease_owner = 'engine-a'"), 0, "A's leases are gone");

	claim_ids(s, "relay", "engine-c", 200, 1000, 5,
	    (long long[]){ m1, m2 }, 2);
	cr_assert_eq(store_queue_release(s, "nobody", &n, &cause), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_queue_release(s, "engine-c", NULL, &cause),
	    STORE_OK, "n may be NULL");
	cr_assert_eq(state_of(s, m1), QUEUE_QUEUED);
	store_close(s);
}

struct alive_calls {
	char	*asked[8];
	size_t	 n;
};

static bool
only_engine_b_runs(const char *owner, void *arg)
{
	struct alive_calls	*c = arg;

	cr_assert_lt(c->n, 8);
	c->asked[c->n++] = xstrdup(owner);
	return strcmp(owner, "engine-b") == 0;
}

static void
alive_calls_free(struct alive_calls *c)
{
	while (c->n > 0)
		free(c->asked[--c->n]);
}

Test(queue, recover_releases_only_dead_owners)
{
	struct store		*s, *writer;
	struct alive_calls	 calls = { .n = 0 };
	size_t			 n = 9;
	char			*cause = NULL;
	long long		 a1, a2, b1, q;

	s = open_ok(db);
	writer = open_ok(db);
	a1 = enqueue(s, "relay", 100);
	a2 = enqueue(s, "relay", 100);
	b1 = enqueue(s, "relay", 100);
	q = enqueue(s, "relay", 100);
	claim_ids(s, "relay", "engine-a", 100, 1000, 2,
	    (long long[]){ a1, a2 }, 2);
	claim_ids(s, "relay", "engine-b", 100, 1000, 1, (long long[]){ b1 }, 1);

	cr_assert_eq(store_queue_recover(s, only_engine_b_runs, &calls, &n,
	    &cause), STORE_OK, "%s", cause ? cause : "");
	cr_assert_eq(n, 2, "A's two");
	cr_assert_eq(calls.n, 2, "asked once per owner");
	cr_assert((strcmp(calls.asked[0], "engine-a") == 0 &&
	    strcmp(calls.asked[1], "engine-b") == 0) ||
	    (strcmp(calls.asked[0], "engine-b") == 0 &&
	    strcmp(calls.asked[1], "engine-a") == 0));
	alive_calls_free(&calls);
	cr_assert_eq(state_of(s, a1), QUEUE_QUEUED);
	cr_assert_eq(state_of(s, a2), QUEUE_QUEUED);
	cr_assert_eq(state_of(s, b1), QUEUE_SENDING, "B runs");

	claim_ids(s, "relay", "engine-c", 100, 1000, 10,
	    (long long[]){ a1, a2, q }, 3);
	cr_assert_eq(store_queue_release(s, "engine-c", NULL, &cause),
	    STORE_OK);
	/*
	 * Nobody to free: no write, so another program's lock is no bar.  A
	 * write would wait out the busy timeout and fail with STORE_BUSY, so
	 * STORE_OK says it took no lock, whatever the clock says.
	 */
	cr_assert_eq(store_begin(writer, &cause), STORE_OK);
	cr_assert_eq(store_queue_recover(s, only_engine_b_runs, &calls, &n,
	    &cause), STORE_OK, "took the write lock: %s", cause ? cause : "");
	store_rollback(writer);
	cr_assert_eq(n, 0);
	cr_assert_eq(calls.n, 1, "only B holds anything");
	alive_calls_free(&calls);
	store_close(s);
	store_close(writer);
}

Test(queue, renew_extends_the_lease)
{
	struct store	*s = open_ok(db);
	char		*cause = NULL;
	long long	 a, b;

	a = enqueue(s, "relay", 100);
	b = enqueue(s, "relay", 100);
	claim_ids(s, "relay", "engine-a", 100, 160, 1, (long long[]){ a }, 1);
	claim_ids(s, "relay", "engine-b", 100, 160, 1, (long long[]){ b }, 1);
	cr_assert_eq(store_queue_renew(s, "engine-a", 300, &cause), STORE_OK);
	claim_ids(s, "relay", "engine-c", 200, 400, 10, (long long[]){ b }, 1);
	claim_ids(s, "relay", "engine-c", 299, 400, 10, NULL, 0);
	claim_ids(s, "relay", "engine-c", 300, 400, 10, (long long[]){ a }, 1);
	store_close(s);
}

Test(queue, hold_and_wake_held)
{
	static const char	 reason[] = "profile relay is inactive";
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL, g;
	size_t			 n = 9;
	char			*cause = NULL;
	long long		 d, live, expired, p1, future, other;

	d = enqueue(s, "relay", 80);
	cr_assert_eq(claim(s, "relay", "engine-a", 80, 1000, 1, &v), 1);
	v[0].attempts = 1;
	decide_deferred(&v[0], 100);
	cr_assert_eq(record(s, &v[0], "engine-a", 85), STORE_OK);
	store_qmsg_free_array(v, 1);
	live = enqueue(s, "relay", 90);
	claim_ids(s, "relay", "engine-a", 90, 1000, 1, (long long[]){ live },
	    1);
	expired = enqueue(s, "relay", 95);
	claim_ids(s, "relay", "engine-b", 95, 99, 1, (long long[]){ expired },
	    1);
	p1 = enqueue(s, "relay", 100);
	future = enqueue(s, "relay", 500);
	other = enqueue(s, "backup", 100);

	cr_assert_eq(store_queue_hold(s, "relay", reason, 100, 700, &n,
	    &cause), STORE_OK, "%s", cause ? cause : "");
	cr_assert_eq(n, 3, "the deferred, the queued and the lapsed lease");
	qget(s, d, &g);
	cr_assert(g.held);
	cr_assert_eq(g.state, QUEUE_DEFERRED);
	cr_assert_eq(g.attempts, 2, "a hold is not an attempt");
	cr_assert_eq(g.next_attempt, 700);
	cr_assert_eq(g.updated, 100);
	cr_assert_str_eq(g.last_reply, reason);
	store_qmsg_clear(&g);
	qget(s, p1, &g);
	cr_assert(g.held);
	cr_assert_eq(g.state, QUEUE_QUEUED);
	cr_assert_eq(g.attempts, 0);
	cr_assert_eq(g.next_attempt, 700);
	store_qmsg_clear(&g);
	qget(s, expired, &g);
	cr_assert(g.held);
	cr_assert_eq(g.state, QUEUE_QUEUED, "given back, never tried");
	cr_assert_eq(g.next_attempt, 700);
	store_qmsg_clear(&g);
	qget(s, live, &g);
	cr_assert(!g.held, "a live lease is left alone");
	cr_assert_eq(g.state, QUEUE_SENDING);
	store_qmsg_clear(&g);
	qget(s, future, &g);
	cr_assert(!g.held, "not due yet");
	cr_assert_eq(g.next_attempt, 500);
	store_qmsg_clear(&g);
	qget(s, other, &g);
	cr_assert(!g.held, "another profile");
	store_qmsg_clear(&g);

	claim_ids(s, "relay", "engine-c", 600, 2000, 10,
	    (long long[]){ future }, 1);
	cr_assert_eq(store_queue_wake_held(s, 650, &cause), STORE_OK);
	qget(s, d, &g);
	cr_assert(!g.held);
	cr_assert_eq(g.next_attempt, 650, "due at once");
	cr_assert_eq(g.attempts, 2);
	store_qmsg_clear(&g);
	claim_ids(s, "relay", "engine-c", 650, 2000, 10,
	    (long long[]){ d, expired, p1 }, 3);
	cr_assert_eq(store_queue_hold(s, "relay", reason, 650, 700, NULL,
	    &cause), STORE_OK, "n may be NULL");
	store_close(s);
}

Test(queue, release_and_hold_give_back_each_message_by_its_attempts)
{
	enum { N = 40 };	/* more than one batch of anything */
	struct store		*s = open_ok(db);
	struct store_qmsg	 g;
	long long		 id[N];
	size_t			 n = 0;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < N; i++)
		id[i] = enqueue(s, "relay", 100);
	claim_ids(s, "relay", "engine-a", 100, 150, N, id, N);
	/* Claimed again after earlier attempts: every other one. */
	sql_exec("UPDATE queue SET attempts = 3 WHERE id % 2 = 0");

	cr_assert_eq(store_queue_release(s, "engine-a", &n, &cause), STORE_OK,
	    "%s", cause ? cause : "");
	cr_assert_eq(n, N);
	for (i = 0; i < N; i++) {
		qget(s, id[i], &g);
		cr_assert_eq(g.state, id[i] % 2 == 0 ? QUEUE_DEFERRED :
		    QUEUE_QUEUED, "message %lld with %d attempts released as "
		    "%s", id[i], g.attempts, queue_state_name(g.state));
		cr_assert_eq(g.attempts, id[i] % 2 == 0 ? 3 : 0);
		cr_assert_not(g.held);
		store_qmsg_clear(&g);
	}

	/* Claimed by B, whose leases end at 150: held at 200, all of them. */
	claim_ids(s, "relay", "engine-b", 100, 150, N, id, N);
	cr_assert_eq(store_queue_hold(s, "relay", "inactive", 200, 900, &n,
	    &cause), STORE_OK, "%s", cause ? cause : "");
	cr_assert_eq(n, N);
	for (i = 0; i < N; i++) {
		qget(s, id[i], &g);
		cr_assert_eq(g.state, id[i] % 2 == 0 ? QUEUE_DEFERRED :
		    QUEUE_QUEUED, "message %lld with %d attempts held as %s",
		    id[i], g.attempts, queue_state_name(g.state));
		cr_assert(g.held);
		cr_assert_eq(g.next_attempt, 900);
		cr_assert_eq(g.updated, 200);
		cr_assert_str_eq(g.last_reply, "inactive");
		store_qmsg_clear(&g);
	}
	cr_assert_eq(sql_int("SELECT count(*) FROM queue WHERE "
	    "lease_owner IS NOT NULL OR lease_until IS NOT NULL"), 0,
	    "no lease is left behind");
	store_close(s);
}

Test(queue, release_and_hold_roll_back_with_the_transaction)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	 g;
	size_t			 n = 0;
	char			*cause = NULL;
	long long		 a, b;

	a = enqueue(s, "relay", 100);
	b = enqueue(s, "relay", 100);
	claim_ids(s, "relay", "engine-a", 100, 1000, 1, (long long[]){ a }, 1);
	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	cr_assert_eq(store_queue_release(s, "engine-a", &n, &cause), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_queue_hold(s, "relay", "inactive", 100, 700, &n,
	    &cause), STORE_OK);
	cr_assert_eq(n, 2, "the one released and the queued one");
	store_rollback(s);
	cr_assert_eq(state_of(s, a), QUEUE_SENDING, "still A's");
	cr_assert_eq(sql_int(tu_fmt("SELECT count(*) FROM queue WHERE id = "
	    "%lld AND lease_owner = 'engine-a' AND lease_until = 1000", a)), 1);
	qget(s, b, &g);
	cr_assert_eq(g.state, QUEUE_QUEUED);
	cr_assert_not(g.held, "nothing held");
	cr_assert_eq(g.next_attempt, 100);
	store_qmsg_clear(&g);
	store_close(s);
}

/*
 * PostgreSQL gives back in two statements, a read and a write, outside any
 * transaction of its own.  Runs give() in a child process while other's
 * open transaction has changed rows it will read; commits other once the
 * child's write waits for those rows.  Returns how many give() gave back.
 */
static size_t
give_back_racing(struct store *other,
    int (*give)(struct store *s, size_t *n, char **cause))
{
	long long	 t0;
	pid_t		 pid;
	int		 status;
	char		*cause = NULL;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct store	*c = NULL;
		size_t		 n = 0;
		char		*why = NULL;

		if (store_open(db, "racer", &c, &why) != STORE_OK ||
		    give(c, &n, &why) != STORE_OK) {
			fprintf(stderr, "child: %s\n", why ? why : "");
			_exit(100);
		}
		store_close(c);
		_exit(n < 100 ? (int)n : 99);
	}
	/* Within the child's lock timeout (5 s), or the child fails. */
	t0 = tu_now_ms();
	while (sql_int("SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = current_database() AND wait_event_type = 'Lock'") == 0) {
		cr_assert_lt(tu_now_ms() - t0, 4000, "the child never waited "
		    "for the rows the other transaction changed");
		usleep(10000);
	}
	cr_assert_eq(store_commit(other, &cause), STORE_OK, "%s",
	    cause ? cause : "");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) < 100,
	    "the child failed (%d)", status);
	return (size_t)WEXITSTATUS(status);
}

/* The two handles of a give_back_racing() test, on PostgreSQL only. */
static void
racing_open(struct store **s, struct store **other)
{
	if (!tu_pg())
		cr_skip_test("PostgreSQL only: SQLite reads and writes in one "
		    "write transaction, so nothing changes in between");
	*s = open_ok(db);
	*other = open_ok(db);
}

static int
hold_relay_at_200(struct store *s, size_t *n, char **cause)
{
	return store_queue_hold(s, "relay", "inactive", 200, 900, n, cause);
}

static int
release_engine_a(struct store *s, size_t *n, char **cause)
{
	return store_queue_release(s, "engine-a", n, cause);
}

Test(queue, hold_leaves_what_changed_since_it_read)
{
	struct store		*s, *other;
	struct store_qmsg	*v = NULL, g;
	char			*cause = NULL;
	long long		 lapsed, tried, untouched;

	racing_open(&s, &other);
	lapsed = enqueue(s, "relay", 100);
	tried = enqueue(s, "relay", 100);
	untouched = enqueue(s, "relay", 100);
	claim_ids(s, "relay", "engine-b", 100, 150, 1,
	    (long long[]){ lapsed }, 1);

	/* Before the hold reads: C takes the lapsed one, D tries another. */
	cr_assert_eq(store_begin(other, &cause), STORE_OK);
	claim_ids(other, "relay", "engine-c", 200, 1000, 1,
	    (long long[]){ lapsed }, 1);
	cr_assert_eq(claim(other, "relay", "engine-d", 200, 1000, 1, &v), 1);
	cr_assert_eq(v[0].id, tried);
	decide_deferred(&v[0], 150);
	cr_assert_eq(record(other, &v[0], "engine-d", 200), STORE_OK);
	store_qmsg_free_array(v, 1);

	cr_assert_eq(give_back_racing(other, hold_relay_at_200), 1,
	    "only the untouched one");
	qget(s, lapsed, &g);
	cr_assert_eq(g.state, QUEUE_SENDING, "C's live lease is C's");
	cr_assert_not(g.held);
	store_qmsg_clear(&g);
	cr_assert_eq(sql_int(tu_fmt("SELECT count(*) FROM queue WHERE id = "
	    "%lld AND lease_owner = 'engine-c'", lapsed)), 1);
	qget(s, tried, &g);
	cr_assert_eq(g.state, QUEUE_DEFERRED, "not queued: it was tried");
	cr_assert_eq(g.attempts, 1);
	cr_assert_not(g.held, "decided for 0 attempts, so not written");
	store_qmsg_clear(&g);
	qget(s, untouched, &g);
	cr_assert(g.held);
	cr_assert_eq(g.state, QUEUE_QUEUED);
	cr_assert_eq(g.next_attempt, 900);
	store_qmsg_clear(&g);
	store_close(other);
	store_close(s);
}

Test(queue, release_leaves_what_changed_since_it_read)
{
	struct store		*s, *other;
	struct store_qmsg	*v = NULL, g;
	char			*cause = NULL;
	long long		 a1, a2;

	racing_open(&s, &other);
	a1 = enqueue(s, "relay", 100);
	a2 = enqueue(s, "relay", 100);
	cr_assert_eq(claim(s, "relay", "engine-a", 100, 1000, 2, &v), 2);
	cr_assert_eq(v[0].id, a1);

	/* Before the release reads: A1 is tried, then claimed again. */
	cr_assert_eq(store_begin(other, &cause), STORE_OK);
	decide_deferred(&v[0], 150);
	cr_assert_eq(record(other, &v[0], "engine-a", 200), STORE_OK);
	store_qmsg_free_array(v, 2);
	claim_ids(other, "relay", "engine-a", 200, 1000, 1,
	    (long long[]){ a1 }, 1);

	cr_assert_eq(give_back_racing(other, release_engine_a), 1,
	    "only the untouched one");
	qget(s, a1, &g);
	cr_assert_eq(g.attempts, 1);
	cr_assert_neq(g.state, QUEUE_QUEUED, "tried once: never queued again");
	store_qmsg_clear(&g);
	cr_assert_eq(state_of(s, a2), QUEUE_QUEUED);
	store_close(other);
	store_close(s);
}

Test(queue, purge_deletes_old_final_messages)
{
	struct store		*s = open_ok(db);
	struct store_qmsg	*v = NULL, g;
	size_t			 n = 9;
	char			*cause = NULL;
	long long		 sent, failed, deferred, queued;

	sent = enqueue(s, "relay", 50);
	failed = enqueue(s, "relay", 50);
	deferred = enqueue(s, "relay", 50);
	queued = enqueue(s, "relay", 60);
	cr_assert_eq(claim(s, "relay", "e", 50, 5000, 3, &v), 3);
	decide_sent(&v[0], 100);
	cr_assert_eq(record(s, &v[0], "e", 100), STORE_OK);
	v[1].rcpt[0].state = QUEUE_RCPT_FAILED;
	v[1].state = QUEUE_FAILED;
	cr_assert_eq(record(s, &v[1], "e", 200), STORE_OK);
	decide_deferred(&v[2], 9000);
	cr_assert_eq(record(s, &v[2], "e", 60), STORE_OK);
	store_qmsg_free_array(v, 3);

	cr_assert_eq(store_queue_purge(s, 150, &n, &cause), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_queue_get(s, sent, &g, &cause), STORE_NOT_FOUND);
	cr_assert_eq(state_of(s, failed), QUEUE_FAILED);
	cr_assert_eq(store_queue_purge(s, 200, &n, &cause), STORE_OK);
	cr_assert_eq(n, 0, "updated at 200 is not before 200");
	cr_assert_eq(store_queue_purge(s, 201, &n, &cause), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_queue_get(s, failed, &g, &cause), STORE_NOT_FOUND);
	cr_assert_eq(store_queue_purge(s, 2000000000, &n, &cause), STORE_OK);
	cr_assert_eq(n, 0, "waiting messages are never purged");
	cr_assert_eq(state_of(s, deferred), QUEUE_DEFERRED);
	cr_assert_eq(state_of(s, queued), QUEUE_QUEUED);
	cr_assert_eq(sql_int("SELECT count(*) FROM queue_rcpt"), 2,
	    "the purged messages' recipients are gone");
	cr_assert_eq(sql_int("SELECT count(*) FROM queue_data"), 2);
	store_close(s);
}

static void
assert_due(struct store *s, time_t now, const char *want, time_t want_next)
{
	struct store_qdue	*v = NULL;
	size_t			 n = 9, i;
	time_t			 next = 1;
	char			*cause = NULL, *got = xstrdup("");
	char			*more;

	cr_assert_eq(store_queue_due(s, now, &v, &n, &next, &cause),
	    STORE_OK, "%s", cause ? cause : "");
	for (i = 0; i < n; i++) {
		more = xasprintf("%s%s%s:%zu", got, i ? " " : "",
		    v[i].profile, v[i].count);
		free(got);
		got = more;
		free(v[i].profile);
	}
	free(v);
	cr_assert_str_eq(got, want, "due at %lld", (long long)now);
	cr_assert_eq(next, want_next, "next at %lld: %lld, want %lld",
	    (long long)now, (long long)next, (long long)want_next);
	free(got);
}

Test(queue, due_counts_per_profile_and_says_when_next)
{
	struct store	*s = open_ok(db);
	long long	 c1;

	assert_due(s, 100, "", 0);
	enqueue(s, "bravo", 90);
	enqueue(s, "bravo", 100);
	enqueue(s, "alpha", 100);
	enqueue(s, "alpha", 500);
	c1 = enqueue(s, "charlie", 50);
	claim_ids(s, "charlie", "e", 50, 300, 1, (long long[]){ c1 }, 1);

	assert_due(s, 99, "bravo:1", 100);
	assert_due(s, 100, "alpha:1 bravo:2", 300);
	assert_due(s, 300, "alpha:1 bravo:2 charlie:1", 500);
	assert_due(s, 500, "alpha:2 bravo:2 charlie:1", 0);
	store_close(s);
}

Test(queue, config_generation_follows_configuration_only)
{
	struct store		*s = open_ok(db), *other = open_ok(db);
	struct profile		*p = simple_profile("relay", "a.example.org");
	struct smtp_settings	 set;
	struct store_qmsg	*v = NULL;
	long long		 gen = -1, g;
	size_t			 n;
	char			*cause = NULL;

	cr_assert_eq(store_config_generation(s, &gen, &cause), STORE_OK);
	cr_assert_eq(gen, 0, "nothing configured yet");

	put_ok(s, p, true);
	cr_assert_eq(store_config_generation(s, &g, &cause), STORE_OK);
	cr_assert_gt(g, gen, "a profile was created");
	gen = g;

	/* The queue is not configuration. */
	enqueue(s, "relay", 100);
	enqueue(s, "relay", 100);
	cr_assert_eq(claim(s, "relay", "e", 100, 160, 1, &v), 1);
	decide_sent(&v[0], 110);
	cr_assert_eq(record(s, &v[0], "e", 110), STORE_OK);
	store_qmsg_free_array(v, 1);
	cr_assert_eq(store_queue_hold(s, "relay", "inactive", 120, 500, &n,
	    &cause), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_queue_wake_held(s, 130, &cause), STORE_OK);
	cr_assert_eq(store_queue_purge(s, 1000, &n, &cause), STORE_OK);
	cr_assert_eq(store_config_generation(s, &g, &cause), STORE_OK);
	cr_assert_eq(g, gen, "queue changes leave the generation");

	put_ok(s, p, false);
	cr_assert_eq(store_config_generation(s, &g, &cause), STORE_OK);
	cr_assert_eq(g, gen, "an unchanged profile is no change");

	cr_assert_eq(store_settings_get(s, &set, &cause), STORE_OK);
	set.enabled = !set.enabled;
	cr_assert_eq(store_settings_put(s, &set, &cause), STORE_OK);
	settings_clear(&set);
	cr_assert_eq(store_config_generation(s, &g, &cause), STORE_OK);
	cr_assert_gt(g, gen, "the settings changed");
	gen = g;

	/* Another program's change is seen too. */
	free(p->host);
	p->host = xstrdup("b.example.org");
	put_ok(other, p, true);
	cr_assert_eq(store_config_generation(s, &g, &cause), STORE_OK);
	cr_assert_gt(g, gen, "another program updated the profile");
	profile_free(p);
	store_close(s);
	store_close(other);
}

/*
 * The engine's loop at volume: claim 64 at a time, record the 64 in one
 * transaction; every message is claimed exactly once and ends sent with
 * its body gone.  Speed is bench/queue.sh's business, not a test's.
 */
Test(queue, claim_and_record_ten_thousand)
{
	enum { N = 10000, BATCH = 64 };
	struct store		*s = open_ok(db);
	struct store_qmsg	 m, *v;
	char			 body[1025];
	char			*cause = NULL;
	size_t			 n, i, total = 0;
	long long		 last = 0;

	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	cr_assert_eq(store_begin(s, &cause), STORE_OK);
	for (i = 0; i < N; i++) {
		/* Submitted in order, about a hundred a second. */
		qmsg_make(&m, "relay", 100 + (time_t)(i / 100), one_rcpt);
		free(m.data);
		m.data = xasprintf("Subject: %zu\r\n\r\n%s\r\n", i, body);
		m.datalen = strlen(m.data);
		add_ok(s, &m);
		store_qmsg_clear(&m);
	}
	cr_assert_eq(store_commit(s, &cause), STORE_OK);

	for (;;) {
		v = NULL;
		n = claim(s, "relay", "engine", 300, 360, BATCH, &v);
		if (n == 0)
			break;
		cr_assert_eq(store_begin(s, &cause), STORE_OK);
		for (i = 0; i < n; i++) {
			cr_assert_gt(v[i].id, last, "oldest first, once each");
			last = v[i].id;
			decide_sent(&v[i], 310);
			cr_assert_eq(record(s, &v[i], "engine", 310), STORE_OK);
		}
		cr_assert_eq(store_commit(s, &cause), STORE_OK);
		store_qmsg_free_array(v, n);
		total += n;
	}
	cr_assert_eq(total, N, "each claimed once");
	cr_assert_eq(sql_int("SELECT count(*) FROM queue WHERE state = "
	    "'sent'"), N);
	cr_assert_eq(sql_int("SELECT count(*) FROM queue_data"), 0);
	store_close(s);
}
