/*
 * store/sqlite_db.c: the SQLite backend's connection: opening, the
 * connection's settings, transactions, the schema, and SQLite's errors.
 *
 * It opens the file that store/store_file.c checked and made, and sets it
 * up as SPEC section 4 says: WAL with synchronous=FULL and secure_delete,
 * a busy timeout, every write BEGIN IMMEDIATE; the schema moves forward by
 * user_version, one atomic step per version.  It turns SQLite's failures
 * into store statuses and messages that say what to do, and notices other
 * processes' commits by PRAGMA data_version.  It holds the backend's table
 * (store/backend.h).
 *
 * It reads and writes no profile, setting or queued message: those are
 * store/sqlite_config.c's and store/sqlite_queue.c's.  It is not
 * thread-safe: one connection serves one thread at a time.
 */
#include "store/sqlite_int.h"

#include <sys/inotify.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "store/store_file.h"

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

	/*
	 * 1 -> 2: the outbound queue.  Bodies have a table of their own so
	 * that listings never read them.  The indexes are partial: only
	 * waiting (queued, deferred) and sending rows are in them, so the
	 * sent and failed rows kept until a purge cost a claim nothing, and
	 * a claim reads a profile's oldest due rows in index order instead of
	 * sorting its whole backlog.  Sending rows are few (what running
	 * engines hold), so one index on them serves both the owner's
	 * queries and the search for lapsed leases; each index more is one
	 * more write per claim and per record.
	 */
	"CREATE TABLE queue ("
	" id INTEGER PRIMARY KEY,"
	" message_id TEXT NOT NULL,"
	" profile TEXT NOT NULL,"
	" sender TEXT NOT NULL,"
	" state TEXT NOT NULL,"			/* queue_state_name() words */
	" attempts INTEGER NOT NULL,"
	" held INTEGER NOT NULL,"
	" submitted INTEGER NOT NULL,"		/* unix time */
	" next_attempt INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" last_reply TEXT,"
	" size INTEGER NOT NULL,"
	" lease_owner TEXT,"			/* set while sending */
	" lease_until INTEGER"
	") STRICT;"
	"CREATE TABLE queue_rcpt ("
	" msg INTEGER NOT NULL REFERENCES queue (id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" addr TEXT NOT NULL,"
	" state TEXT NOT NULL,"			/* queue_rcpt_state_name() */
	" code INTEGER,"
	" reply TEXT,"
	" PRIMARY KEY (msg, idx)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE queue_data ("
	" msg INTEGER PRIMARY KEY REFERENCES queue (id) ON DELETE CASCADE,"
	" data BLOB NOT NULL"
	") STRICT;"
	"CREATE INDEX queue_waiting ON queue (profile, next_attempt)"
	" WHERE state IN ('queued', 'deferred');"
	"CREATE INDEX queue_owner ON queue (lease_owner)"
	" WHERE state = 'sending';",
};
_Static_assert(nitems(migrations) == STORE_SCHEMA_VERSION,
    "one migration step per schema version");
_Static_assert(STORE_APPLICATION_ID == 1735881581,
    "the v1 migration writes STORE_APPLICATION_ID");

static const struct store_ops	sqlite_ops;

/*
 * Turns a failed SQLite call into a store status and a message naming the
 * file and what to do.  what says what was being done.
 */
int
db_fail(struct sqlite_store *s, int rc, const char *what, char **cause)
{
	const char	*msg = sqlite3_errmsg(s->db);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		store_set_cause(cause, "%s: the database is locked by another "
		    "process (waited %d s); try again when it has finished",
		    s->path, STORE_BUSY_TIMEOUT / 1000);
		return STORE_BUSY;
	case SQLITE_NOTADB:
		store_set_cause(cause, "%s is not an SQLite database; give the "
		    "path of a gwsmtp database or of a new file", s->path);
		return STORE_BADFILE;
	case SQLITE_CORRUPT:
		store_set_cause(cause, "%s is damaged (%s); restore it from a "
		    "backup", s->path, msg);
		return STORE_BADFILE;
	case SQLITE_CANTOPEN:
		if (sqlite3_system_errno(s->db) != EACCES &&
		    sqlite3_system_errno(s->db) != EPERM)
			break;
		/* FALLTHROUGH */
	case SQLITE_READONLY:
	case SQLITE_PERM:
		store_set_cause(cause, "%s: %s: %s; check that this user owns "
		    "the file and may write to its directory", s->path, what,
		    msg);
		return STORE_PERM;
	case SQLITE_FULL:
		store_set_cause(cause, "%s: %s: the disk is full; free some "
		    "space and try again", s->path, what);
		return STORE_ERROR;
	}
	store_set_cause(cause, "%s: %s: %s", s->path, what, msg);
	return STORE_ERROR;
}

int
db_exec(struct sqlite_store *s, const char *sql, const char *what, char **cause)
{
	int	rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, what, cause);
	return STORE_OK;
}

int
db_prepare(struct sqlite_store *s, const char *sql, unsigned int flags,
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
int
db_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
    char **cause)
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
int
db_int(struct sqlite_store *s, const char *sql, long long *out, char **cause)
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
int
tx_enter(struct sqlite_store *s, bool *own, char **cause)
{
	int	status;

	*own = false;
	if (s->in_tx) {
		if (s->tx_failed) {
			store_set_cause(cause, "%s: an earlier change in this "
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
wipe_wal(struct sqlite_store *s)
{
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

int
tx_leave(struct sqlite_store *s, bool own, int status, char **cause)
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

/*
 * A read of several statements (messages, then their recipients) sees one
 * snapshot: a deferred transaction of its own, or store_begin()'s.
 */
int
rd_enter(struct sqlite_store *s, bool *own, char **cause)
{
	int	status;

	*own = false;
	if (s->in_tx)
		return STORE_OK;
	status = db_exec(s, "BEGIN", "cannot start a read", cause);
	if (status == STORE_OK)
		*own = true;
	return status;
}

/* Ends a read: nothing was written, so there is nothing to keep. */
void
rd_leave(struct sqlite_store *s, bool own)
{
	if (own && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Reads user_version, application_id and whether the file has tables, and
 * refuses a file that is not ours or is newer than this program.
 */
static int
schema_check(struct sqlite_store *s, long long *version, char **cause)
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
		store_set_cause(cause, "%s is an SQLite database but not a "
		    "gwsmtp database; give another path", s->path);
		return STORE_BADFILE;
	}
	if (v > STORE_SCHEMA_VERSION) {
		store_set_cause(cause, "%s has schema version %lld, newer than "
		    "this program's %d; upgrade gwsmtp", s->path, v,
		    STORE_SCHEMA_VERSION);
		return STORE_BADFILE;
	}
	if (v < 0) {
		store_set_cause(cause, "%s has schema version %lld, which no "
		    "gwsmtp writes; restore it from a backup", s->path, v);
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
migrate(struct sqlite_store *s, char **cause)
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

/*
 * Switches the file to WAL (a no-op once it is).  The switch needs an
 * exclusive lock and SQLite answers SQLITE_BUSY at once, without its busy
 * handler, while another process reads or switches the same new file; so
 * this retries until the busy timeout.
 */
static int
set_wal(struct sqlite_store *s, char **cause)
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
		store_set_cause(cause, "%s: cannot switch to WAL (the journal "
		    "mode stays %s); is the file on a network file system?",
		    s->path, mode != NULL ? mode : "unknown");
		status = STORE_ERROR;
	}
out:
	sqlite3_finalize(st);
	return status;
}

static void
sqlite_free(struct sqlite_store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->st_data_version);
	if (s->inotify != -1)
		close(s->inotify);
	sqlite_config_finalize(s);
	sqlite_queue_finalize(s);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->path);
	free(s->program);
	free(s->os_user);
	free(s);
}

int
sqlite_store_open(const char *path, const char *program, struct store **out,
    char **cause)
{
	struct sqlite_store	*s;
	long long		 v;
	int			 rc, status;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		store_set_cause(cause, "no database path given");
		return STORE_ERROR;
	}
	if ((status = store_file_prepare(path, cause)) != STORE_OK)
		return status;

	s = xcalloc(1, sizeof *s);
	s->inotify = -1;
	s->base.ops = &sqlite_ops;
	s->path = xstrdup(path);
	s->program = xstrdup(program != NULL ? program : "gwsmtp");
	s->os_user = store_user_name(geteuid());

	/*
	 * Not SQLITE_OPEN_CREATE: store_file_prepare() made the file, with
	 * the mode SQLite then copies to -wal and -shm.
	 */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		if (s->db == NULL) {
			store_set_cause(cause, "%s: %s", path,
			    sqlite3_errstr(rc));
			status = STORE_ERROR;
		} else
			status = db_fail(s, rc, "cannot open", cause);
		goto fail;
	}
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		store_set_cause(cause, "%s can only be read by this user; it "
		    "must belong to the user running this program", path);
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
	if ((status = sqlite_config_prepare(s, cause)) != STORE_OK ||
	    (status = sqlite_queue_prepare(s, cause)) != STORE_OK ||
	    (status = db_prepare(s, "PRAGMA data_version",
	    SQLITE_PREPARE_PERSISTENT, &s->st_data_version, cause)) != 0)
		goto fail;
	if ((status = db_int(s, "PRAGMA data_version", &s->data_version,
	    cause)) != STORE_OK)
		goto fail;

	*out = &s->base;
	return STORE_OK;

fail:
	sqlite_free(s);
	return status;
}

void
sqlite_close(struct store *base)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	if (s == NULL)
		return;
	if (s->in_tx && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite_free(s);
}

/* store_begin() with sql, or store_begin_read(). */
static int
tx_open(struct sqlite_store *s, const char *sql, const char *what,
    char **cause)
{
	int	status;

	if (s->in_tx) {
		store_set_cause(cause, "%s: a transaction is already open",
		    s->path);
		return STORE_ERROR;
	}
	status = db_exec(s, sql, what, cause);
	if (status != STORE_OK)
		return status;
	s->in_tx = true;
	s->tx_failed = false;
	s->tx_wipe = false;
	return STORE_OK;
}

int
sqlite_begin(struct store *base, char **cause)
{
	return tx_open((struct sqlite_store *)base, "BEGIN IMMEDIATE",
	    "cannot start a write", cause);
}

void
sqlite_rollback(struct store *base)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	if (!s->in_tx)
		return;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
	s->tx_failed = false;
	s->tx_wipe = false;
}

int
sqlite_commit(struct store *base, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	if (!s->in_tx) {
		store_set_cause(cause, "%s: no transaction is open", s->path);
		return STORE_ERROR;
	}
	if (s->tx_failed || sqlite3_get_autocommit(s->db)) {
		/* SQLite may already have rolled back (disk full, I/O). */
		sqlite_rollback(&s->base);
		store_set_cause(cause, "%s: a change in this transaction "
		    "failed; nothing was stored", s->path);
		return STORE_ERROR;
	}
	s->in_tx = false;
	return tx_leave(s, true, STORE_OK, cause);
}

int
sqlite_changed(struct store *base, bool *changed, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_data_version;
	long long		 v;
	int			 rc;

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
	if (s->inotify != -1) {
		char buf[4096];

		/* Emptied: the next write by anyone makes it readable. */
		while (read(s->inotify, buf, sizeof buf) > 0)
			;
	}
	return STORE_OK;
}

/*
 * inotify on the database's directory, where the -wal file changes with
 * every commit (a watch on the file alone would miss its replacement).
 */
static int
sqlite_notify_fd(struct store *base, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	char			*dir;
	int			 fd;

	if (s->inotify != -1)
		return s->inotify;
	dir = store_file_dir(s->path);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd != -1 && inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		store_set_cause(cause, "cannot watch %s: %s", dir,
		    strerror(errno));
	free(dir);
	return s->inotify = fd;
}

static const struct store_ops sqlite_ops = {
	.name = "SQLite",
	.close = sqlite_close,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.profile_get = sqlite_profile_get,
	.profile_list = sqlite_profile_list,
	.profile_count = sqlite_profile_count,
	.profile_names = sqlite_profile_names,
	.profile_put = sqlite_profile_put,
	.profile_delete = sqlite_profile_delete,
	.settings_get = sqlite_settings_get,
	.settings_put = sqlite_settings_put,
	.changed = sqlite_changed,
	.notify_fd = sqlite_notify_fd,
	.audit_foreach = sqlite_audit_foreach,
	.config_generation = sqlite_config_generation,
	.queue_add = sqlite_queue_add,
	.queue_list = sqlite_queue_list,
	.queue_get = sqlite_queue_get,
	.queue_due = sqlite_queue_due,
	.queue_claim = sqlite_queue_claim,
	.queue_record = sqlite_queue_record,
	.queue_release = sqlite_queue_release,
	.queue_renew = sqlite_queue_renew,
	.queue_recover = sqlite_queue_recover,
	.queue_hold = sqlite_queue_hold,
	.queue_wake_held = sqlite_queue_wake_held,
	.queue_purge = sqlite_queue_purge,
	.begin_read = sqlite_begin_read,
	.counts = sqlite_counts,
	.shown = sqlite_shown,
	.profile_restore = sqlite_profile_restore,
	.settings_restore = sqlite_settings_restore,
	.audit_restore = sqlite_audit_restore,
	.queue_body = sqlite_queue_body,
	.queue_restore = sqlite_queue_restore,
};

/*
 * A deferred transaction: the first read takes its snapshot, which holds
 * until it ends, and in WAL mode a reader takes no lock that stops a
 * writer.  in_tx makes every read (rd_enter()) join it; a write would
 * join it too, which store_begin_read() forbids its callers.
 */
int
sqlite_begin_read(struct store *base, char **cause)
{
	return tx_open((struct sqlite_store *)base, "BEGIN DEFERRED",
	    "cannot start a read", cause);
}

/* One statement, so one snapshot; store_begin()'s write lock holds it. */
int
sqlite_counts(struct store *base, struct store_counts *out, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st;
	int			 rc, status;

	status = db_prepare(s, "SELECT (SELECT count(*) FROM profiles), "
	    "(SELECT count(*) FROM settings), (SELECT count(*) FROM audit), "
	    "(SELECT count(*) FROM queue)", 0, &st, cause);
	if (status != STORE_OK)
		return status;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->profiles = (size_t)sqlite3_column_int64(st, 0);
		out->settings = (size_t)sqlite3_column_int64(st, 1);
		out->audit = (size_t)sqlite3_column_int64(st, 2);
		out->queue = (size_t)sqlite3_column_int64(st, 3);
	} else
		status = db_fail(s, rc, "cannot read the database", cause);
	sqlite3_finalize(st);
	return status;
}

const char *
sqlite_shown(struct store *base)
{
	return ((struct sqlite_store *)base)->path;
}
