/*
 * store/store_sqlite.c: the configuration store (store/store.h) on SQLite.
 *
 * The only file of the project that includes sqlite3.h.  It enforces the
 * file rules of SPEC section 4: the database is created 0600 in a 0700
 * directory and refused when group or others can read it; WAL with
 * synchronous=FULL and secure_delete; every write is BEGIN IMMEDIATE; the
 * schema moves forward by user_version, one atomic step per version; each
 * change writes its audit row in the same transaction.
 *
 * It does not validate profiles (callers pass what core/profile.h accepted)
 * and it is not thread-safe: one struct store serves one thread at a time.
 */
#include "store/store.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/xmalloc.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Milliseconds a write waits for another process's lock (SPEC 4). */
#define STORE_BUSY_TIMEOUT	5000

/* PRAGMA application_id: "gwsm", tells our files from other SQLite files. */
#define STORE_APPLICATION_ID	0x6777736d

/*
 * migrations[v] takes the schema from version v to v + 1.  Each runs in its
 * own BEGIN IMMEDIATE transaction together with PRAGMA user_version, so a
 * step is applied entirely or not at all.  These are history: never edit a
 * step once released; add the next one (and bump STORE_SCHEMA_VERSION).
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE profiles ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" active INTEGER NOT NULL,"
	" host TEXT,"
	" port INTEGER NOT NULL,"
	" alt_hosts TEXT,"			/* comma-joined host[:port] */
	" tls TEXT NOT NULL,"			/* profile_get() words */
	" starttls TEXT NOT NULL,"
	" verify INTEGER NOT NULL,"
	" ca_file TEXT,"
	" fingerprint TEXT,"
	" tls_min TEXT NOT NULL,"
	" auth TEXT NOT NULL,"
	" username TEXT,"
	" password TEXT,"
	" trace TEXT,"
	" allow_plain_auth_without_tls INTEGER NOT NULL,"
	" from_addr TEXT,"
	" to_addr TEXT,"
	" helo TEXT,"
	" timeout INTEGER NOT NULL,"
	" retries INTEGER NOT NULL,"
	" retry_delay INTEGER NOT NULL,"
	" retry_max INTEGER NOT NULL,"
	" max_connections INTEGER NOT NULL,"
	" comment TEXT,"
	" revision INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"		/* unix time */
	" updated INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE settings ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" os_user TEXT NOT NULL,"
	" program TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" profile TEXT,"
	" keys TEXT NOT NULL"
	") STRICT;"
	"PRAGMA application_id = 1735881581;",
};
_Static_assert(nitems(migrations) == STORE_SCHEMA_VERSION,
    "one migration step per schema version");
_Static_assert(STORE_APPLICATION_ID == 1735881581,
    "the v1 migration writes STORE_APPLICATION_ID");

/*
 * How each profile key maps to its column.  Strings, booleans and integers
 * are read and written in the struct directly; enums and the host list go
 * through their text forms (profile_get() and profile_set()), which is what
 * the column holds.
 */
enum column_kind {
	COL_STRING,	/* char *, NULL when unset */
	COL_BOOL,	/* bool, 0 or 1 */
	COL_INT,	/* int */
	COL_TEXT	/* text form; "" (unset) stored as NULL */
};

static const struct column {
	const char		*name;
	enum column_kind	 kind;
	size_t			 off;
} columns[] = {
#define S(k, n, f)	[k] = { n, COL_STRING, offsetof(struct profile, f) }
#define B(k, n, f)	[k] = { n, COL_BOOL, offsetof(struct profile, f) }
#define I(k, n, f)	[k] = { n, COL_INT, offsetof(struct profile, f) }
#define T(k, n)		[k] = { n, COL_TEXT, 0 }
	S(PROFILE_KEY_NAME, "name", name),
	B(PROFILE_KEY_ACTIVE, "active", active),
	S(PROFILE_KEY_HOST, "host", host),
	I(PROFILE_KEY_PORT, "port", port),
	T(PROFILE_KEY_ALT_HOSTS, "alt_hosts"),
	T(PROFILE_KEY_TLS, "tls"),
	T(PROFILE_KEY_STARTTLS, "starttls"),
	B(PROFILE_KEY_VERIFY, "verify", verify),
	S(PROFILE_KEY_CA_FILE, "ca_file", ca_file),
	S(PROFILE_KEY_FINGERPRINT, "fingerprint", fingerprint),
	T(PROFILE_KEY_TLS_MIN, "tls_min"),
	T(PROFILE_KEY_AUTH, "auth"),
	S(PROFILE_KEY_USERNAME, "username", username),
	S(PROFILE_KEY_PASSWORD, "password", password),
	S(PROFILE_KEY_TRACE, "trace", trace),
	B(PROFILE_KEY_ALLOW_PLAIN_AUTH_WITHOUT_TLS,
	    "allow_plain_auth_without_tls", allow_plain_auth_without_tls),
	S(PROFILE_KEY_FROM, "from_addr", from),
	S(PROFILE_KEY_TO, "to_addr", to),
	S(PROFILE_KEY_HELO, "helo", helo),
	I(PROFILE_KEY_TIMEOUT, "timeout", timeout),
	I(PROFILE_KEY_RETRIES, "retries", retries),
	I(PROFILE_KEY_RETRY_DELAY, "retry_delay", retry_delay),
	I(PROFILE_KEY_RETRY_MAX, "retry_max", retry_max),
	I(PROFILE_KEY_MAX_CONNECTIONS, "max_connections", max_connections),
	S(PROFILE_KEY_COMMENT, "comment", comment),
#undef S
#undef B
#undef I
#undef T
};
_Static_assert(nitems(columns) == PROFILE_KEY_COUNT,
    "every profile key has a column");

/*
 * Parameters of the insert and update statements: ?1..?N are the columns in
 * key order, then the revision and the time.
 */
#define PARAM_REVISION	(PROFILE_KEY_COUNT + 1)
#define PARAM_TIME	(PROFILE_KEY_COUNT + 2)

struct store {
	sqlite3		*db;
	char		*path;
	char		*program;
	char		*os_user;
	long long	 data_version;

	bool		 in_tx;		/* store_begin() is open */
	bool		 tx_failed;	/* a change in it failed half-way */
	bool		 tx_wipe;	/* a secret was removed: checkpoint */

	/* Hot paths, prepared once (SQLITE_PREPARE_PERSISTENT). */
	sqlite3_stmt	*st_get;
	sqlite3_stmt	*st_list;
	sqlite3_stmt	*st_insert;
	sqlite3_stmt	*st_update;
	sqlite3_stmt	*st_audit;
	sqlite3_stmt	*st_data_version;
};

static void	set_cause(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
set_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

/*
 * Turns a failed SQLite call into a store status and a message naming the
 * file and what to do.  what says what was being done.
 */
static int
db_fail(struct store *s, int rc, const char *what, char **cause)
{
	const char	*msg = sqlite3_errmsg(s->db);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		set_cause(cause, "%s: the database is locked by another "
		    "process (waited %d s); try again when it has finished",
		    s->path, STORE_BUSY_TIMEOUT / 1000);
		return STORE_BUSY;
	case SQLITE_NOTADB:
		set_cause(cause, "%s is not an SQLite database; give the path "
		    "of a gwsmtp database or of a new file", s->path);
		return STORE_BADFILE;
	case SQLITE_CORRUPT:
		set_cause(cause, "%s is damaged (%s); restore it from a backup",
		    s->path, msg);
		return STORE_BADFILE;
	case SQLITE_CANTOPEN:
		if (sqlite3_system_errno(s->db) != EACCES &&
		    sqlite3_system_errno(s->db) != EPERM)
			break;
		/* FALLTHROUGH */
	case SQLITE_READONLY:
	case SQLITE_PERM:
		set_cause(cause, "%s: %s: %s; check that this user owns the "
		    "file and may write to its directory", s->path, what, msg);
		return STORE_PERM;
	case SQLITE_FULL:
		set_cause(cause, "%s: %s: the disk is full; free some space "
		    "and try again", s->path, what);
		return STORE_ERROR;
	}
	set_cause(cause, "%s: %s: %s", s->path, what, msg);
	return STORE_ERROR;
}

static int
db_exec(struct store *s, const char *sql, const char *what, char **cause)
{
	int	rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, what, cause);
	return STORE_OK;
}

static int
db_prepare(struct store *s, const char *sql, unsigned int flags,
    sqlite3_stmt **st, char **cause)
{
	int	rc;

	rc = sqlite3_prepare_v3(s->db, sql, -1, flags, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return db_fail(s, rc, "cannot prepare a statement", cause);
	}
	return STORE_OK;
}

/* Steps a statement that returns no rows, then resets it for reuse. */
static int
db_done(struct store *s, sqlite3_stmt *st, const char *what, char **cause)
{
	int	rc, status = STORE_OK;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		status = db_fail(s, rc, what, cause);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

/* Runs a query of one integer (a pragma, a count). */
static int
db_int(struct store *s, const char *sql, long long *out, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc, status;

	if ((status = db_prepare(s, sql, 0, &st, cause)) != STORE_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		status = STORE_OK;
	} else
		status = db_fail(s, rc, "cannot read the database", cause);
	sqlite3_finalize(st);
	return status;
}

/*
 * Write transactions.  With store_begin() open, a change runs inside it;
 * otherwise it takes its own BEGIN IMMEDIATE and commits at the end.
 * tx_leave() commits or rolls back an own transaction; inside an explicit
 * one it marks the transaction failed when a change broke off half-way, so
 * that store_commit() refuses to commit half a change.
 */
static int
tx_enter(struct store *s, bool *own, char **cause)
{
	int	status;

	*own = false;
	if (s->in_tx) {
		if (s->tx_failed) {
			set_cause(cause, "%s: an earlier change in this "
			    "transaction failed; roll it back", s->path);
			return STORE_ERROR;
		}
		return STORE_OK;
	}
	status = db_exec(s, "BEGIN IMMEDIATE", "cannot start a write", cause);
	if (status == STORE_OK) {
		*own = true;
		s->tx_wipe = false;
	}
	return status;
}

/*
 * secure_delete zeroes what a change frees in the database file, but the
 * WAL still holds the page images from before the change.  A TRUNCATE
 * checkpoint copies the newest pages into the database file and empties the
 * WAL.  Best effort: if another process is reading an older snapshot, the
 * checkpoint gives up after the busy timeout and the old frames remain until
 * the WAL is next reset or the last connection closes (which checkpoints and
 * removes it).  That is accepted rather than failing a change that is
 * already committed.
 */
static void
wipe_wal(struct store *s)
{
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

static int
tx_leave(struct store *s, bool own, int status, char **cause)
{
	if (!own) {
		if (s->in_tx && status != STORE_OK && status != STORE_STALE &&
		    status != STORE_NOT_FOUND)
			s->tx_failed = true;
		return status;
	}
	if (status == STORE_OK)
		status = db_exec(s, "COMMIT", "cannot commit", cause);
	if (status != STORE_OK) {
		if (!sqlite3_get_autocommit(s->db))
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->tx_wipe = false;
		return status;
	}
	if (s->tx_wipe) {
		s->tx_wipe = false;
		wipe_wal(s);
	}
	return STORE_OK;
}

/* A growing SQL string. */
struct sqlbuf {
	char	*s;
	size_t	 len;
};

static void	sql_add(struct sqlbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
sql_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*part;
	size_t	 n;

	va_start(ap, fmt);
	part = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(part);
	b->s = xreallocarray(b->s, b->len + n + 1, 1);
	memcpy(b->s + b->len, part, n + 1);
	b->len += n;
	free(part);
}

/* The cached statements, generated from columns[]. */
static int
prepare_statements(struct store *s, char **cause)
{
	struct sqlbuf	 sel = { NULL, 0 }, ins = { NULL, 0 };
	struct sqlbuf	 upd = { NULL, 0 }, get = { NULL, 0 };
	struct sqlbuf	 list = { NULL, 0 };
	const unsigned	 f = SQLITE_PREPARE_PERSISTENT;
	size_t		 k;
	int		 status;

	sql_add(&sel, "SELECT ");
	sql_add(&ins, "INSERT INTO profiles (");
	sql_add(&upd, "UPDATE profiles SET ");
	for (k = 0; k < nitems(columns); k++) {
		sql_add(&sel, "%s, ", columns[k].name);
		sql_add(&ins, "%s, ", columns[k].name);
		if (k != PROFILE_KEY_NAME)
			sql_add(&upd, "%s = ?%zu, ", columns[k].name, k + 1);
	}
	sql_add(&sel, "revision FROM profiles");
	sql_add(&ins, "revision, created, updated) VALUES (");
	for (k = 0; k < nitems(columns); k++)
		sql_add(&ins, "?%zu, ", k + 1);
	sql_add(&ins, "?%d, ?%d, ?%d)", PARAM_REVISION, PARAM_TIME,
	    PARAM_TIME);
	sql_add(&upd, "revision = ?%d, updated = ?%d WHERE name = ?%d",
	    PARAM_REVISION, PARAM_TIME, PROFILE_KEY_NAME + 1);
	sql_add(&get, "%s WHERE name = ?1", sel.s);
	sql_add(&list, "%s ORDER BY name", sel.s);

	if ((status = db_prepare(s, get.s, f, &s->st_get, cause)) != 0 ||
	    (status = db_prepare(s, list.s, f, &s->st_list, cause)) != 0 ||
	    (status = db_prepare(s, ins.s, f, &s->st_insert, cause)) != 0 ||
	    (status = db_prepare(s, upd.s, f, &s->st_update, cause)) != 0 ||
	    (status = db_prepare(s, "INSERT INTO audit (time, os_user, "
	    "program, action, profile, keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    f, &s->st_audit, cause)) != 0 ||
	    (status = db_prepare(s, "PRAGMA data_version", f,
	    &s->st_data_version, cause)) != 0)
		goto out;
	status = STORE_OK;
out:
	free(sel.s);
	free(ins.s);
	free(upd.s);
	free(get.s);
	free(list.s);
	return status;
}

/*
 * Reads user_version, application_id and whether the file has tables, and
 * refuses a file that is not ours or is newer than this program.
 */
static int
schema_check(struct store *s, long long *version, char **cause)
{
	sqlite3_stmt	*st;
	long long	 v, app, tables;
	int		 rc, status;

	status = db_prepare(s, "SELECT (SELECT user_version FROM "
	    "pragma_user_version), (SELECT application_id FROM "
	    "pragma_application_id), (SELECT count(*) FROM sqlite_schema)",
	    0, &st, cause);
	if (status != STORE_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		status = db_fail(s, rc, "cannot read the schema", cause);
		sqlite3_finalize(st);
		return status;
	}
	v = sqlite3_column_int64(st, 0);
	app = sqlite3_column_int64(st, 1);
	tables = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);

	if ((app != 0 && app != STORE_APPLICATION_ID) ||
	    (app == 0 && (v != 0 || tables != 0))) {
		set_cause(cause, "%s is an SQLite database but not a gwsmtp "
		    "database; give another path", s->path);
		return STORE_BADFILE;
	}
	if (v > STORE_SCHEMA_VERSION) {
		set_cause(cause, "%s has schema version %lld, newer than this "
		    "program's %d; upgrade gwsmtp", s->path, v,
		    STORE_SCHEMA_VERSION);
		return STORE_BADFILE;
	}
	if (v < 0) {
		set_cause(cause, "%s has schema version %lld, which no gwsmtp "
		    "writes; restore it from a backup", s->path, v);
		return STORE_BADFILE;
	}
	*version = v;
	return STORE_OK;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION, one step per transaction.  The
 * version is read again under the write lock: another process may have
 * migrated while this one waited.
 */
static int
migrate(struct store *s, char **cause)
{
	long long	 v;
	char		*sql;
	int		 status;

	for (;;) {
		if ((status = schema_check(s, &v, cause)) != STORE_OK)
			return status;
		if (v == STORE_SCHEMA_VERSION)
			return STORE_OK;
		status = db_exec(s, "BEGIN IMMEDIATE",
		    "cannot start the schema upgrade", cause);
		if (status != STORE_OK)
			return status;
		if ((status = schema_check(s, &v, cause)) != STORE_OK)
			goto fail;
		if (v == STORE_SCHEMA_VERSION) {
			status = db_exec(s, "COMMIT", "cannot commit", cause);
			if (status != STORE_OK)
				goto fail;
			return STORE_OK;
		}
		status = db_exec(s, migrations[v],
		    "cannot upgrade the schema", cause);
		if (status != STORE_OK)
			goto fail;
		sql = xasprintf("PRAGMA user_version = %lld", v + 1);
		status = db_exec(s, sql, "cannot upgrade the schema", cause);
		free(sql);
		if (status != STORE_OK)
			goto fail;
		status = db_exec(s, "COMMIT",
		    "cannot commit the schema upgrade", cause);
		if (status != STORE_OK)
			goto fail;
	}

fail:
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return status;
}

/* Creates the missing directories above path, each mode 0700. */
static int
make_dirs(const char *path, char **cause)
{
	struct stat	 sb;
	char		*dir, *slash, c;
	int		 status = STORE_ERROR;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		free(dir);
		return STORE_OK;	/* the current or root directory */
	}
	*slash = '\0';
	if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		free(dir);
		return STORE_OK;
	}
	for (slash = dir + 1;; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		c = *slash;
		*slash = '\0';
		if (mkdir(dir, 0700) == 0) {
			/* mkdir's mode passes through the umask; be exact. */
			if (chmod(dir, 0700) != 0) {
				set_cause(cause, "cannot set the mode of %s: "
				    "%s", dir, strerror(errno));
				goto fail;
			}
		} else if (errno != EEXIST) {
			set_cause(cause, "cannot create the directory %s: %s",
			    dir, strerror(errno));
			status = errno == EACCES ? STORE_PERM : STORE_ERROR;
			goto fail;
		} else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			set_cause(cause, "%s is in the way of the database "
			    "directory: it is not a directory", dir);
			goto fail;
		}
		if (c == '\0')
			break;
		*slash = c;
	}
	status = STORE_OK;
fail:
	free(dir);
	return status;
}

static int
check_private(const char *path, const struct stat *sb, char **cause)
{
	if (!S_ISREG(sb->st_mode)) {
		set_cause(cause, "%s is not a regular file; give the path of "
		    "a gwsmtp database or of a new file", path);
		return STORE_BADFILE;
	}
	if ((sb->st_mode & 077) != 0) {
		set_cause(cause, "%s is open to group or others (mode %04o) "
		    "and holds passwords; refusing to use it.  Make it "
		    "private with: chmod 600 %s", path,
		    (unsigned)(sb->st_mode & 07777), path);
		return STORE_PERM;
	}
	return STORE_OK;
}

/*
 * Creates the database file 0600 if it is missing, so that SQLite's -wal and
 * -shm (which copy the database file's mode) are private too.  Otherwise
 * checks that the file and its -wal and -shm are regular and private.
 */
static int
prepare_file(const char *path, char **cause)
{
	struct stat	 sb;
	const char	*suffix[] = { "-wal", "-shm" };
	char		*side;
	size_t		 i;
	int		 fd, status;

	fd = open(path, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600);
	if (fd != -1) {
		/* The umask may have taken bits away; 0600 exactly. */
		if (fchmod(fd, 0600) != 0) {
			set_cause(cause, "cannot set the mode of %s: %s", path,
			    strerror(errno));
			close(fd);
			return STORE_ERROR;
		}
		close(fd);
		return STORE_OK;
	}
	if (errno != EEXIST) {
		set_cause(cause, "cannot create %s: %s", path, strerror(errno));
		return errno == EACCES ? STORE_PERM : STORE_ERROR;
	}

	/* Open, not stat: the checks then apply to the file really used. */
	fd = open(path, O_RDWR|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP) {
			set_cause(cause, "%s is a symbolic link; give the path "
			    "of the database file itself", path);
			return STORE_BADFILE;
		}
		if (errno == EISDIR) {
			set_cause(cause, "%s is a directory; give the path of "
			    "a gwsmtp database or of a new file", path);
			return STORE_BADFILE;
		}
		set_cause(cause, "cannot open %s for reading and writing: %s; "
		    "it must belong to the user running this program", path,
		    strerror(errno));
		return errno == EACCES || errno == EPERM ? STORE_PERM :
		    STORE_ERROR;
	}
	if (fstat(fd, &sb) != 0) {
		set_cause(cause, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return STORE_ERROR;
	}
	/* No SQLite handle has the file open yet: closing loses no lock. */
	close(fd);
	if ((status = check_private(path, &sb, cause)) != STORE_OK)
		return status;

	for (i = 0; i < nitems(suffix); i++) {
		side = xasprintf("%s%s", path, suffix[i]);
		if (lstat(side, &sb) == 0)
			status = check_private(side, &sb, cause);
		else if (errno != ENOENT) {
			set_cause(cause, "cannot stat %s: %s", side,
			    strerror(errno));
			status = STORE_ERROR;
		}
		free(side);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

static char *
os_user_name(void)
{
	struct passwd	*pw;

	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL)
		return xstrdup(pw->pw_name);
	return xasprintf("%lu", (unsigned long)geteuid());
}

char *
store_default_path(char **cause)
{
	const char	*env, *home;
	struct passwd	*pw;
	size_t		 len;

	if ((env = getenv("GWSMTP_DB")) != NULL && *env != '\0')
		return xstrdup(env);
	/* The XDG spec says to ignore a relative XDG_DATA_HOME. */
	if ((env = getenv("XDG_DATA_HOME")) != NULL && *env == '/') {
		len = strlen(env);
		while (len > 1 && env[len - 1] == '/')
			len--;
		return xasprintf("%.*s/gwsmtp/gwsmtp.db", (int)len, env);
	}
	if ((home = getenv("HOME")) == NULL || *home != '/') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || *home != '/') {
		set_cause(cause, "no home directory is known for the database; "
		    "set HOME or GWSMTP_DB, or give --db PATH");
		return NULL;
	}
	len = strlen(home);
	while (len > 1 && home[len - 1] == '/')
		len--;
	if (len == 1)
		len = 0;	/* home is "/" */
	return xasprintf("%.*s/.local/share/gwsmtp/gwsmtp.db", (int)len, home);
}

/*
 * Switches the file to WAL (a no-op once it is).  The switch needs an
 * exclusive lock and SQLite answers SQLITE_BUSY at once, without its busy
 * handler, while another process reads or switches the same new file; so
 * this retries until the busy timeout.
 */
static int
set_wal(struct store *s, char **cause)
{
	sqlite3_stmt	*st;
	const char	*mode;
	int		 rc, status, waited = 0, pause = 1;

	status = db_prepare(s, "PRAGMA journal_mode = WAL", 0, &st, cause);
	if (status != STORE_OK)
		return status;
	while ((rc = sqlite3_step(st)) == SQLITE_BUSY &&
	    waited < STORE_BUSY_TIMEOUT) {
		sqlite3_reset(st);
		sqlite3_sleep(pause);
		waited += pause;
		if (pause < 50)
			pause *= 2;
	}
	if (rc != SQLITE_ROW) {
		status = db_fail(s, rc, "cannot switch to WAL", cause);
		goto out;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		set_cause(cause, "%s: cannot switch to WAL (the journal mode "
		    "stays %s); is the file on a network file system?",
		    s->path, mode != NULL ? mode : "unknown");
		status = STORE_ERROR;
	}
out:
	sqlite3_finalize(st);
	return status;
}

static void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->st_get);
	sqlite3_finalize(s->st_list);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_update);
	sqlite3_finalize(s->st_audit);
	sqlite3_finalize(s->st_data_version);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->path);
	free(s->program);
	free(s->os_user);
	free(s);
}

int
store_open(const char *path, const char *program, struct store **out,
    char **cause)
{
	struct store	*s;
	long long	 v;
	int		 rc, status;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		set_cause(cause, "no database path given");
		return STORE_ERROR;
	}
	if ((status = make_dirs(path, cause)) != STORE_OK)
		return status;
	if ((status = prepare_file(path, cause)) != STORE_OK)
		return status;

	s = xcalloc(1, sizeof *s);
	s->path = xstrdup(path);
	s->program = xstrdup(program != NULL ? program : "gwsmtp");
	s->os_user = os_user_name();

	/*
	 * Not SQLITE_OPEN_CREATE: prepare_file() made the file, with the
	 * mode SQLite then copies to -wal and -shm.
	 */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		if (s->db == NULL) {
			set_cause(cause, "%s: %s", path, sqlite3_errstr(rc));
			status = STORE_ERROR;
		} else
			status = db_fail(s, rc, "cannot open", cause);
		goto fail;
	}
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		set_cause(cause, "%s can only be read by this user; it must "
		    "belong to the user running this program", path);
		status = STORE_PERM;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT);

	/* Before anything changes the file: is it ours at all? */
	if ((status = schema_check(s, &v, cause)) != STORE_OK)
		goto fail;

	if ((status = set_wal(s, cause)) != STORE_OK)
		goto fail;

	status = db_exec(s, "PRAGMA synchronous = FULL;"
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA foreign_keys = ON;", "cannot set up the connection", cause);
	if (status != STORE_OK)
		goto fail;

	if ((status = migrate(s, cause)) != STORE_OK)
		goto fail;
	if ((status = prepare_statements(s, cause)) != STORE_OK)
		goto fail;
	if ((status = db_int(s, "PRAGMA data_version", &s->data_version,
	    cause)) != STORE_OK)
		goto fail;

	*out = s;
	return STORE_OK;

fail:
	store_free(s);
	return status;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_tx && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_free(s);
}

int
store_begin(struct store *s, char **cause)
{
	int	status;

	if (s->in_tx) {
		set_cause(cause, "%s: a transaction is already open", s->path);
		return STORE_ERROR;
	}
	status = db_exec(s, "BEGIN IMMEDIATE", "cannot start a write", cause);
	if (status != STORE_OK)
		return status;
	s->in_tx = true;
	s->tx_failed = false;
	s->tx_wipe = false;
	return STORE_OK;
}

int
store_commit(struct store *s, char **cause)
{
	if (!s->in_tx) {
		set_cause(cause, "%s: no transaction is open", s->path);
		return STORE_ERROR;
	}
	if (s->tx_failed || sqlite3_get_autocommit(s->db)) {
		/* SQLite may already have rolled back (disk full, I/O). */
		store_rollback(s);
		set_cause(cause, "%s: a change in this transaction failed; "
		    "nothing was stored", s->path);
		return STORE_ERROR;
	}
	s->in_tx = false;
	return tx_leave(s, true, STORE_OK, cause);
}

void
store_rollback(struct store *s)
{
	if (!s->in_tx)
		return;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
	s->tx_failed = false;
	s->tx_wipe = false;
}

/* Replaces a string field, wiping the old value if it is the password. */
static void
set_string(char **field, const char *value, bool secret)
{
	if (secret)
		free_secret(*field);
	else
		free(*field);
	*field = value != NULL && *value != '\0' ? xstrdup(value) : NULL;
}

/* Builds a profile from a row of st_get or st_list. */
static int
profile_from_row(struct store *s, sqlite3_stmt *st, struct profile **out,
    char **cause)
{
	struct profile		*p;
	const struct column	*c;
	const char		*text;
	char			*why;
	size_t			 k;
	int			 pass;

	p = profile_new(NULL);
	/*
	 * Text forms first: setting tls may move a port at its default, and
	 * the stored port must win.
	 */
	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < nitems(columns); k++) {
			c = &columns[k];
			if ((c->kind == COL_TEXT) != (pass == 0))
				continue;
			text = (const char *)sqlite3_column_text(st, (int)k);
			switch (c->kind) {
			case COL_STRING:
				set_string((char **)((char *)p + c->off), text,
				    k == PROFILE_KEY_PASSWORD);
				break;
			case COL_BOOL:
				*(bool *)((char *)p + c->off) =
				    sqlite3_column_int(st, (int)k) != 0;
				break;
			case COL_INT:
				*(int *)((char *)p + c->off) =
				    sqlite3_column_int(st, (int)k);
				break;
			case COL_TEXT:
				why = NULL;
				if (profile_set(p, k, text != NULL ? text : "",
				    &why) == 0)
					break;
				set_cause(cause, "%s: profile '%s' has an "
				    "invalid %s in the database (%s); set it "
				    "again with gwadmin set",
				    s->path, (const char *)sqlite3_column_text(
				    st, PROFILE_KEY_NAME),
				    profile_key_name(k), why ? why : "?");
				free(why);
				profile_free(p);
				return STORE_ERROR;
			}
		}
	}
	p->revision = sqlite3_column_int64(st, PROFILE_KEY_COUNT);
	*out = p;
	return STORE_OK;
}

/* Reads one profile by name: STORE_OK, STORE_NOT_FOUND or an error. */
static int
profile_fetch(struct store *s, const char *name, struct profile **out,
    char **cause)
{
	sqlite3_stmt	*st = s->st_get;
	int		 rc, status;

	*out = NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		status = profile_from_row(s, st, out, cause);
	else if (rc == SQLITE_DONE)
		status = STORE_NOT_FOUND;
	else
		status = db_fail(s, rc, "cannot read a profile", cause);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

/*
 * Binds p's values to the insert or update statement.  Strings are bound
 * without a copy (the statement is reset before p can change); text forms
 * are allocated and handed to SQLite, which frees them.
 */
static void
profile_bind(sqlite3_stmt *st, const struct profile *p)
{
	const struct column	*c;
	const char		*str;
	char			*text;
	size_t			 k;
	int			 i;

	for (k = 0; k < nitems(columns); k++) {
		c = &columns[k];
		i = (int)k + 1;
		switch (c->kind) {
		case COL_STRING:
			str = *(char *const *)((const char *)p + c->off);
			if (str == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, str, -1,
				    SQLITE_STATIC);
			break;
		case COL_BOOL:
			sqlite3_bind_int(st, i,
			    *(const bool *)((const char *)p + c->off));
			break;
		case COL_INT:
			sqlite3_bind_int(st, i,
			    *(const int *)((const char *)p + c->off));
			break;
		case COL_TEXT:
			text = profile_get(p, k);
			if (*text == '\0') {
				free(text);
				sqlite3_bind_null(st, i);
			} else
				sqlite3_bind_text(st, i, text, -1, free);
			break;
		}
	}
}

/* Comma-joined names of the marked keys.  Caller frees. */
static char *
join_keys(const bool *marked, size_t n, const char *(*name)(int))
{
	struct sqlbuf	b = { xstrdup(""), 0 };
	size_t		k;

	for (k = 0; k < n; k++) {
		if (marked[k])
			sql_add(&b, "%s%s", b.len ? "," : "", name((int)k));
	}
	return b.s;
}

static const char *
profile_key_name_int(int k)
{
	return profile_key_name((enum profile_key)k);
}

static const char *
settings_key_name_int(int k)
{
	return settings_key_name((enum settings_key)k);
}

static int
audit_add(struct store *s, const char *action, const char *profile,
    const char *keys, char **cause)
{
	sqlite3_stmt	*st = s->st_audit;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, s->os_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->program, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	if (profile != NULL)
		sqlite3_bind_text(st, 5, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, keys, -1, SQLITE_STATIC);
	return db_done(s, st, "cannot write the audit trail", cause);
}

int
store_profile_get(struct store *s, const char *name, struct profile **out,
    char **cause)
{
	return profile_fetch(s, name, out, cause);
}

int
store_profile_list(struct store *s, struct profile ***out, size_t *n,
    char **cause)
{
	sqlite3_stmt	 *st = s->st_list;
	struct profile	**v = NULL, *p;
	size_t		  len = 0, cap = 0, i;
	int		  rc, status = STORE_OK;

	*out = NULL;
	*n = 0;
	/* One statement, so one snapshot: never half an import. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((status = profile_from_row(s, st, &p, cause)) != STORE_OK)
			goto fail;
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[len++] = p;
	}
	if (rc != SQLITE_DONE) {
		status = db_fail(s, rc, "cannot list the profiles", cause);
		goto fail;
	}
	sqlite3_reset(st);
	*out = v != NULL ? v : xcalloc(1, sizeof *v);
	*n = len;
	return STORE_OK;

fail:
	sqlite3_reset(st);
	for (i = 0; i < len; i++)
		profile_free(v[i]);
	free(v);
	return status;
}

int
store_profile_count(struct store *s, size_t *n, char **cause)
{
	long long	c;
	int		status;

	status = db_int(s, "SELECT count(*) FROM profiles", &c, cause);
	if (status == STORE_OK)
		*n = (size_t)c;
	return status;
}

/*
 * Audit keys: for an update, the keys profile_diff() reports; for a create,
 * the keys profile_has() says hold a value (so a create row shows what the
 * new profile carries, never the values themselves).
 */
int
store_profile_put(struct store *s, struct profile *p, bool *changed,
    char **cause)
{
	struct profile	*old = NULL;
	bool		 diff[PROFILE_KEY_COUNT], own, wrote = false;
	sqlite3_stmt	*st;
	long long	 rev = 0;
	char		*keys;
	size_t		 k;
	int		 status;

	if (changed != NULL)
		*changed = false;
	if (p->name == NULL) {
		set_cause(cause, "%s: a profile without a name cannot be "
		    "stored", s->path);
		return STORE_ERROR;
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;

	status = profile_fetch(s, p->name, &old, cause);
	if (status == STORE_NOT_FOUND)
		status = STORE_OK;
	if (status != STORE_OK)
		goto out;
	rev = old != NULL ? old->revision : 0;
	if (p->revision != rev) {
		if (old == NULL)
			set_cause(cause, "profile '%s' was deleted by another "
			    "program since it was read", p->name);
		else if (p->revision == 0)
			set_cause(cause, "profile '%s' was created by another "
			    "program meanwhile (revision %lld); read it before "
			    "changing it", p->name, rev);
		else
			set_cause(cause, "profile '%s' was changed by another "
			    "program since it was read (revision %lld, now "
			    "%lld)", p->name, p->revision, rev);
		status = STORE_STALE;
		goto out;
	}

	if (old == NULL) {
		for (k = 0; k < PROFILE_KEY_COUNT; k++)
			diff[k] = profile_has(p, (enum profile_key)k);
		st = s->st_insert;
	} else {
		if (profile_diff(old, p, diff) == 0)
			goto out;
		st = s->st_update;
	}
	profile_bind(st, p);
	sqlite3_bind_int64(st, PARAM_REVISION, rev + 1);
	sqlite3_bind_int64(st, PARAM_TIME, (sqlite3_int64)time(NULL));
	status = db_done(s, st, "cannot write a profile", cause);
	if (status != STORE_OK)
		goto out;

	keys = join_keys(diff, PROFILE_KEY_COUNT, profile_key_name_int);
	status = audit_add(s, old == NULL ? "create" : "update", p->name, keys,
	    cause);
	free(keys);
	if (status != STORE_OK)
		goto out;
	if (old != NULL && old->password != NULL &&
	    diff[PROFILE_KEY_PASSWORD])
		s->tx_wipe = true;
	wrote = true;

out:
	profile_free(old);
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && wrote) {
		p->revision = rev + 1;
		if (changed != NULL)
			*changed = true;
	}
	return status;
}

int
store_profile_delete(struct store *s, const char *name, char **cause)
{
	sqlite3_stmt	*st = NULL;
	bool		 own;
	int		 status;

	if (name == NULL) {
		set_cause(cause, "%s: no profile name given", s->path);
		return STORE_NOT_FOUND;
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;

	status = db_prepare(s, "DELETE FROM profiles WHERE name = ?1", 0, &st,
	    cause);
	if (status != STORE_OK)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((status = db_done(s, st, "cannot delete a profile", cause)) != 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		set_cause(cause, "%s: no profile named '%s'", s->path, name);
		status = STORE_NOT_FOUND;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((status = audit_add(s, "delete", name, "", cause)) != STORE_OK)
		goto out;
	s->tx_wipe = true;

	/* A default naming a profile that is gone would mislead the engine. */
	status = db_prepare(s, "UPDATE settings SET value = '' WHERE "
	    "key = 'default_profile' AND value = ?1", 0, &st, cause);
	if (status != STORE_OK)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((status = db_done(s, st, "cannot clear the default profile",
	    cause)) != STORE_OK)
		goto out;
	if (sqlite3_changes(s->db) != 0)
		status = audit_add(s, "settings", NULL,
		    settings_key_name(SETTINGS_KEY_DEFAULT_PROFILE), cause);

out:
	sqlite3_finalize(st);
	return tx_leave(s, own, status, cause);
}

/* Reads the settings into out, which owns nothing before. */
static int
settings_read(struct store *s, struct smtp_settings *out, char **cause)
{
	sqlite3_stmt		*st;
	struct smtp_settings	 set;
	enum settings_key	 key;
	const char		*name, *value;
	char			*why;
	int			 rc, status;

	status = db_prepare(s, "SELECT key, value FROM settings", 0, &st,
	    cause);
	if (status != STORE_OK)
		return status;
	settings_init(&set);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		value = (const char *)sqlite3_column_text(st, 1);
		/* Rows of other keys cannot come from this schema version. */
		if (name == NULL || settings_key_lookup(name, &key) != 0)
			continue;
		why = NULL;
		if (settings_set(&set, key, value != NULL ? value : "",
		    &why) != 0) {
			set_cause(cause, "%s: the setting %s has an invalid "
			    "value in the database (%s); set it again with "
			    "gwadmin settings", s->path, name,
			    why ? why : "?");
			free(why);
			status = STORE_ERROR;
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		status = db_fail(s, rc, "cannot read the settings", cause);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = set;
	return STORE_OK;

fail:
	sqlite3_finalize(st);
	settings_clear(&set);
	return status;
}

int
store_settings_get(struct store *s, struct smtp_settings *out, char **cause)
{
	return settings_read(s, out, cause);
}

int
store_settings_put(struct store *s, const struct smtp_settings *in,
    char **cause)
{
	struct smtp_settings	 cur;
	sqlite3_stmt		*st = NULL;
	bool			 diff[SETTINGS_KEY_COUNT], own, have = false;
	char			*value, *keys;
	size_t			 k;
	int			 status;

	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	if ((status = settings_read(s, &cur, cause)) != STORE_OK)
		goto out;
	have = true;
	if (settings_diff(&cur, in, diff) == 0)
		goto out;

	status = db_prepare(s, "INSERT INTO settings (key, value) VALUES "
	    "(?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	    0, &st, cause);
	if (status != STORE_OK)
		goto out;
	for (k = 0; k < SETTINGS_KEY_COUNT; k++) {
		if (!diff[k])
			continue;
		value = settings_get(in, (enum settings_key)k);
		sqlite3_bind_text(st, 1, settings_key_name(k), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, free);
		status = db_done(s, st, "cannot write the settings", cause);
		if (status != STORE_OK)
			goto out;
	}
	keys = join_keys(diff, SETTINGS_KEY_COUNT, settings_key_name_int);
	status = audit_add(s, "settings", NULL, keys, cause);
	free(keys);

out:
	sqlite3_finalize(st);
	if (have)
		settings_clear(&cur);
	return tx_leave(s, own, status, cause);
}

int
store_changed(struct store *s, bool *changed, char **cause)
{
	sqlite3_stmt	*st = s->st_data_version;
	long long	 v;
	int		 rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = db_fail(s, rc, "cannot read the data version", cause);
		sqlite3_reset(st);
		return rc;
	}
	v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	*changed = v != s->data_version;
	s->data_version = v;
	return STORE_OK;
}

int
store_audit_foreach(struct store *s,
    int (*fn)(const struct store_audit *row, void *arg), void *arg,
    char **cause)
{
	sqlite3_stmt		*st;
	struct store_audit	 row;
	int			 rc, status;

	status = db_prepare(s, "SELECT id, time, os_user, program, action, "
	    "profile, keys FROM audit ORDER BY id", 0, &st, cause);
	if (status != STORE_OK)
		return status;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.id = sqlite3_column_int64(st, 0);
		row.time = (time_t)sqlite3_column_int64(st, 1);
		row.os_user = (const char *)sqlite3_column_text(st, 2);
		row.program = (const char *)sqlite3_column_text(st, 3);
		row.action = (const char *)sqlite3_column_text(st, 4);
		row.profile = (const char *)sqlite3_column_text(st, 5);
		row.keys = (const char *)sqlite3_column_text(st, 6);
		if (fn(&row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot read the audit trail", cause);
	sqlite3_finalize(st);
	return status;
}

int
store_profile_names(struct store *s, size_t offset, size_t limit,
    char ***out, size_t *n, char **cause)
{
	sqlite3_stmt	 *st;
	char		**v;
	size_t		  len = 0;
	int		  rc = SQLITE_DONE, status;

	*out = NULL;
	*n = 0;
	if ((status = db_prepare(s, "SELECT name FROM profiles ORDER BY name "
	    "LIMIT ? OFFSET ?", 0, &st, cause)) != STORE_OK)
		return status;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)offset);
	v = xcalloc(limit ? limit : 1, sizeof *v);
	while (len < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		v[len++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	if (len < limit && rc != SQLITE_DONE) {
		status = db_fail(s, rc, "cannot list the profile names", cause);
		sqlite3_finalize(st);
		while (len > 0)
			free(v[--len]);
		free(v);
		return status;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = len;
	return STORE_OK;
}
