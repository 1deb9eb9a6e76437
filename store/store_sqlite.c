/*
 * store/store_sqlite.c: the SQLite backend of the configuration store and
 * the outbound queue (store/store.h; store/store.c calls it through the
 * table of store/backend.h).
 *
 * The only file of the project that includes sqlite3.h.  It opens the
 * file that store/store_file.c checked and made (the file rules of SPEC
 * section 4), and keeps the rest of that section: WAL with
 * synchronous=FULL and secure_delete; every write is BEGIN IMMEDIATE; the
 * schema moves forward by user_version, one atomic step per version; each
 * configuration change writes its audit row in the same transaction.
 *
 * The queue keeps messages, their recipients' outcomes and their bodies,
 * and hands due messages to engines under leases: a claim marks them
 * sending for one owner until a time, and only that owner may record the
 * outcome.  Queue changes are not audited (they are not configuration).
 * The store never reads the clock for the queue: callers pass the time, so
 * that the engine and the tests decide what "now" is.
 *
 * It does not validate profiles (callers pass what core/profile.h accepted)
 * nor decide queue states (core/queue.h does), and it is not thread-safe:
 * one struct store serves one thread at a time.
 */
#include "store/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

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

/*
 * The queue's statements.  All are prepared once at open: a claim or a
 * record runs thousands of times a second in the engine, and preparing a
 * statement costs more than running it.  State words are literals, not
 * parameters, so that the planner can match them with the conditions of
 * the partial indexes.
 */
#define Q_COLUMNS	"id, message_id, profile, sender, state, attempts, " \
			"held, submitted, next_attempt, updated, last_reply, " \
			"size"
#define Q_WAITING	"state IN ('queued', 'deferred')"
#define Q_FINAL		"state IN ('sent', 'failed')"
#define Q_RELEASED	"CASE attempts WHEN 0 THEN 'queued' ELSE 'deferred' END"

/* The columns of Q_COLUMNS, in order. */
enum {
	QC_ID,
	QC_MESSAGE_ID,
	QC_PROFILE,
	QC_SENDER,
	QC_STATE,
	QC_ATTEMPTS,
	QC_HELD,
	QC_SUBMITTED,
	QC_NEXT_ATTEMPT,
	QC_UPDATED,
	QC_LAST_REPLY,
	QC_SIZE
};

enum qstmt {
	Q_ADD,
	Q_ADD_RCPT,
	Q_ADD_DATA,
	Q_GET,
	Q_LIST,
	Q_LIST_RCPT,
	Q_RCPT,
	Q_DATA,
	Q_DUE,
	Q_NEXT,
	Q_CLAIM,
	Q_RECORD,
	Q_RECORD_RCPT,
	Q_DROP_DATA,
	Q_RELEASE,
	Q_RENEW,
	Q_OWNERS,
	Q_HOLD,
	Q_HOLD_LEASED,
	Q_WAKE,
	Q_PURGE_RCPT,
	Q_PURGE_DATA,
	Q_PURGE,
	Q_GENERATION,
	Q_COUNT
};

static const char *const qsql[Q_COUNT] = {
	[Q_ADD] = "INSERT INTO queue (message_id, profile, sender, state, "
	    "attempts, held, submitted, next_attempt, updated, size) "
	    "VALUES (?1, ?2, ?3, 'queued', 0, 0, ?4, ?4, ?4, ?5)",
	[Q_ADD_RCPT] = "INSERT INTO queue_rcpt (msg, idx, addr, state) "
	    "VALUES (?1, ?2, ?3, 'pending')",
	[Q_ADD_DATA] = "INSERT INTO queue_data (msg, data) VALUES (?1, ?2)",
	[Q_GET] = "SELECT " Q_COLUMNS " FROM queue WHERE id = ?1",
	[Q_LIST] = "SELECT " Q_COLUMNS " FROM queue ORDER BY id",
	/* The columns of Q_RCPT first, so that one reader serves both. */
	[Q_LIST_RCPT] = "SELECT addr, state, code, reply, msg FROM queue_rcpt "
	    "ORDER BY msg, idx",
	[Q_RCPT] = "SELECT addr, state, code, reply FROM queue_rcpt "
	    "WHERE msg = ?1 ORDER BY idx",
	[Q_DATA] = "SELECT data FROM queue_data WHERE msg = ?1",
	/* Two halves, one per partial index, rather than an OR of both. */
	[Q_DUE] = "SELECT profile, count(*) FROM ("
	    "SELECT profile FROM queue WHERE " Q_WAITING " AND "
	    "next_attempt <= ?1 "
	    "UNION ALL "
	    "SELECT profile FROM queue WHERE state = 'sending' AND "
	    "lease_until <= ?1) "
	    "GROUP BY profile ORDER BY profile",
	[Q_NEXT] = "SELECT coalesce(min(t), 0) FROM ("
	    "SELECT min(next_attempt) AS t FROM queue WHERE " Q_WAITING " AND "
	    "next_attempt > ?1 "
	    "UNION ALL "
	    "SELECT min(lease_until) FROM queue WHERE state = 'sending' AND "
	    "lease_until > ?1)",
	/*
	 * One statement picks and marks them.  Each half of the pick reads
	 * at most ?5 rows in index order and only those few are sorted
	 * together; leases that ended are rare (an engine died).  RETURNING
	 * gives the rows in no particular order: the caller sorts them.
	 */
	[Q_CLAIM] = "UPDATE queue SET state = 'sending', lease_owner = ?2, "
	    "lease_until = ?3, updated = ?4 WHERE id IN (SELECT id FROM ("
	    "SELECT * FROM (SELECT id, next_attempt FROM queue WHERE "
	    "profile = ?1 AND " Q_WAITING " AND next_attempt <= ?4 "
	    "ORDER BY next_attempt, id LIMIT ?5) "
	    "UNION ALL "
	    "SELECT * FROM (SELECT id, next_attempt FROM queue WHERE "
	    "profile = ?1 AND state = 'sending' AND lease_until <= ?4 "
	    "ORDER BY next_attempt, id LIMIT ?5)) "
	    "ORDER BY next_attempt, id LIMIT ?5) "
	    "RETURNING " Q_COLUMNS,
	[Q_RECORD] = "UPDATE queue SET state = ?3, attempts = ?4, held = ?5, "
	    "next_attempt = ?6, last_reply = ?7, updated = ?8, "
	    "lease_owner = NULL, lease_until = NULL "
	    "WHERE id = ?1 AND state = 'sending' AND lease_owner = ?2",
	[Q_RECORD_RCPT] = "UPDATE queue_rcpt SET state = ?3, code = ?4, "
	    "reply = ?5 WHERE msg = ?1 AND idx = ?2",
	[Q_DROP_DATA] = "DELETE FROM queue_data WHERE msg = ?1",
	[Q_RELEASE] = "UPDATE queue SET state = " Q_RELEASED ", "
	    "lease_owner = NULL, lease_until = NULL "
	    "WHERE state = 'sending' AND lease_owner = ?1",
	[Q_RENEW] = "UPDATE queue SET lease_until = ?2 "
	    "WHERE state = 'sending' AND lease_owner = ?1",
	[Q_OWNERS] = "SELECT DISTINCT lease_owner FROM queue "
	    "WHERE state = 'sending' AND lease_owner IS NOT NULL",
	[Q_HOLD] = "UPDATE queue SET held = 1, last_reply = ?2, "
	    "next_attempt = ?4, updated = ?3 "
	    "WHERE profile = ?1 AND " Q_WAITING " AND next_attempt <= ?3",
	[Q_HOLD_LEASED] = "UPDATE queue SET state = " Q_RELEASED ", "
	    "lease_owner = NULL, lease_until = NULL, held = 1, "
	    "last_reply = ?2, next_attempt = ?4, updated = ?3 "
	    "WHERE profile = ?1 AND state = 'sending' AND lease_until <= ?3",
	[Q_WAKE] = "UPDATE queue SET held = 0, "
	    "next_attempt = min(next_attempt, ?1), updated = ?1 "
	    "WHERE held = 1 AND " Q_WAITING,
	[Q_PURGE_RCPT] = "DELETE FROM queue_rcpt WHERE msg IN (SELECT id "
	    "FROM queue WHERE " Q_FINAL " AND updated < ?1)",
	[Q_PURGE_DATA] = "DELETE FROM queue_data WHERE msg IN (SELECT id "
	    "FROM queue WHERE " Q_FINAL " AND updated < ?1)",
	[Q_PURGE] = "DELETE FROM queue WHERE " Q_FINAL " AND updated < ?1",
	/* max() of the rowid is one lookup at the end of the b-tree. */
	[Q_GENERATION] = "SELECT coalesce(max(id), 0) FROM audit",
};

struct sqlite_store {
	struct store	 base;		/* first, so that each op casts */
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
	sqlite3_stmt	*st_q[Q_COUNT];
};

static const struct store_ops	sqlite_ops;

/*
 * Turns a failed SQLite call into a store status and a message naming the
 * file and what to do.  what says what was being done.
 */
static int
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

static int
db_exec(struct sqlite_store *s, const char *sql, const char *what, char **cause)
{
	int	rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, what, cause);
	return STORE_OK;
}

static int
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
static int
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
static int
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
static int
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

static int
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
prepare_statements(struct sqlite_store *s, char **cause)
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
	for (k = 0; k < Q_COUNT; k++) {
		status = db_prepare(s, qsql[k], f, &s->st_q[k], cause);
		if (status != STORE_OK)
			goto out;
	}
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
	size_t	i;

	if (s == NULL)
		return;
	sqlite3_finalize(s->st_get);
	sqlite3_finalize(s->st_list);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_update);
	sqlite3_finalize(s->st_audit);
	sqlite3_finalize(s->st_data_version);
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->st_q[i]);
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
	if ((status = prepare_statements(s, cause)) != STORE_OK)
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

static void
sqlite_close(struct store *base)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	if (s == NULL)
		return;
	if (s->in_tx && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite_free(s);
}

static int
sqlite_begin(struct store *base, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	int			 status;

	if (s->in_tx) {
		store_set_cause(cause, "%s: a transaction is already open",
		    s->path);
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

static void
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

static int
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
profile_from_row(struct sqlite_store *s, sqlite3_stmt *st, struct profile **out,
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
				store_set_cause(cause, "%s: profile '%s' has "
				    "an invalid %s in the database (%s); set "
				    "it again with gwadmin set", s->path,
				    (const char *)sqlite3_column_text(st,
				    PROFILE_KEY_NAME), profile_key_name(k),
				    why ? why : "?");
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
profile_fetch(struct sqlite_store *s, const char *name, struct profile **out,
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
audit_add(struct sqlite_store *s, const char *action, const char *profile,
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

static int
sqlite_profile_get(struct store *base, const char *name, struct profile **out,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return profile_fetch(s, name, out, cause);
}

static int
sqlite_profile_list(struct store *base, struct profile ***out, size_t *n,
    char **cause)
{
	struct sqlite_store	 *s = (struct sqlite_store *)base;
	sqlite3_stmt		 *st = s->st_list;
	struct profile		**v = NULL, *p;
	size_t			  len = 0, cap = 0, i;
	int			  rc, status = STORE_OK;

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

static int
sqlite_profile_count(struct store *base, size_t *n, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	long long		 c;
	int			 status;

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
static int
sqlite_profile_put(struct store *base, struct profile *p, bool *changed,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	struct profile		*old = NULL;
	bool			 diff[PROFILE_KEY_COUNT];
	bool			 own, wrote = false;
	sqlite3_stmt		*st;
	long long		 rev = 0;
	char			*keys;
	size_t			 k;
	int			 status;

	if (changed != NULL)
		*changed = false;
	if (p->name == NULL) {
		store_set_cause(cause, "%s: a profile without a name cannot be "
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
			store_set_cause(cause, "profile '%s' was deleted by "
			    "another program since it was read", p->name);
		else if (p->revision == 0)
			store_set_cause(cause, "profile '%s' was created by "
			    "another program meanwhile (revision %lld); read "
			    "it before changing it", p->name, rev);
		else
			store_set_cause(cause, "profile '%s' was changed by "
			    "another program since it was read (revision %lld, "
			    "now %lld)", p->name, p->revision, rev);
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

static int
sqlite_profile_delete(struct store *base, const char *name, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = NULL;
	bool			 own;
	int			 status;

	if (name == NULL) {
		store_set_cause(cause, "%s: no profile name given", s->path);
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
		store_set_cause(cause, "%s: no profile named '%s'", s->path,
		    name);
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
settings_read(struct sqlite_store *s, struct smtp_settings *out, char **cause)
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
			store_set_cause(cause, "%s: the setting %s has an "
			    "invalid value in the database (%s); set it again "
			    "with gwadmin settings", s->path, name,
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

static int
sqlite_settings_get(struct store *base, struct smtp_settings *out, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return settings_read(s, out, cause);
}

static int
sqlite_settings_put(struct store *base, const struct smtp_settings *in,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	struct smtp_settings	 cur;
	sqlite3_stmt		*st = NULL;
	bool			 diff[SETTINGS_KEY_COUNT];
	bool			 own, have = false;
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

static int
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
	return STORE_OK;
}

static int
sqlite_audit_foreach(struct store *base,
    int (*fn)(const struct store_audit *row, void *arg), void *arg,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
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

static int
sqlite_profile_names(struct store *base, size_t offset, size_t limit,
    char ***out, size_t *n, char **cause)
{
	struct sqlite_store	 *s = (struct sqlite_store *)base;
	sqlite3_stmt		 *st;
	char			**v;
	size_t			  len = 0;
	int			  rc = SQLITE_DONE, status;

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

static int
sqlite_config_generation(struct store *base, long long *gen, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_q[Q_GENERATION];
	int			 rc, status = STORE_OK;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*gen = sqlite3_column_int64(st, 0);
	else
		status = db_fail(s, rc, "cannot read the audit trail", cause);
	sqlite3_reset(st);
	return status;
}

/* The outbound queue. */

/*
 * A read of several statements (messages, then their recipients) sees one
 * snapshot: a deferred transaction of its own, or store_begin()'s.
 */
static int
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
static void
rd_leave(struct sqlite_store *s, bool own)
{
	if (own && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static char *
column_strdup(sqlite3_stmt *st, int i)
{
	const char	*text = (const char *)sqlite3_column_text(st, i);

	return text != NULL ? xstrdup(text) : NULL;
}

/*
 * Whether st names a state: the enums come from callers, and a word that
 * parses back is what the next read will accept.
 */
static bool
state_valid(enum queue_state st)
{
	enum queue_state	back;

	return queue_state_parse(queue_state_name(st), &back) == 0 &&
	    back == st;
}

static bool
rcpt_state_valid(enum queue_rcpt_state st)
{
	enum queue_rcpt_state	back;

	return queue_rcpt_state_parse(queue_rcpt_state_name(st), &back) == 0 &&
	    back == st;
}

/* Fills m, which owns nothing, from a row of Q_COLUMNS. */
static int
qmsg_from_row(struct sqlite_store *s, sqlite3_stmt *st, struct store_qmsg *m,
    char **cause)
{
	const char	*state;

	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, QC_ID);
	state = (const char *)sqlite3_column_text(st, QC_STATE);
	if (state == NULL || queue_state_parse(state, &m->state) != 0) {
		store_set_cause(cause, "%s: queued message %lld has an unknown "
		    "state '%s'; the database is damaged", s->path, m->id,
		    state != NULL ? state : "");
		return STORE_ERROR;
	}
	m->message_id = column_strdup(st, QC_MESSAGE_ID);
	m->profile = column_strdup(st, QC_PROFILE);
	m->sender = column_strdup(st, QC_SENDER);
	m->attempts = sqlite3_column_int(st, QC_ATTEMPTS);
	m->held = sqlite3_column_int(st, QC_HELD) != 0;
	m->submitted = (time_t)sqlite3_column_int64(st, QC_SUBMITTED);
	m->next_attempt = (time_t)sqlite3_column_int64(st, QC_NEXT_ATTEMPT);
	m->updated = (time_t)sqlite3_column_int64(st, QC_UPDATED);
	m->last_reply = column_strdup(st, QC_LAST_REPLY);
	m->size = (size_t)sqlite3_column_int64(st, QC_SIZE);
	return STORE_OK;
}

/* Appends a recipient from a row of Q_RCPT or Q_LIST_RCPT to m. */
static int
qrcpt_from_row(struct sqlite_store *s, sqlite3_stmt *st, struct store_qmsg *m,
    size_t *cap, char **cause)
{
	struct store_qrcpt	*r;
	const char		*state;
	enum queue_rcpt_state	 rs;

	state = (const char *)sqlite3_column_text(st, 1);
	if (state == NULL || queue_rcpt_state_parse(state, &rs) != 0) {
		store_set_cause(cause, "%s: a recipient of queued message %lld "
		    "has an unknown state '%s'; the database is damaged",
		    s->path, m->id, state != NULL ? state : "");
		return STORE_ERROR;
	}
	if (m->nrcpt == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		m->rcpt = xreallocarray(m->rcpt, *cap, sizeof *m->rcpt);
	}
	r = &m->rcpt[m->nrcpt++];
	r->addr = column_strdup(st, 0);
	r->state = rs;
	r->code = sqlite3_column_int(st, 2);	/* NULL reads as 0 */
	r->reply = column_strdup(st, 3);
	return STORE_OK;
}

/* Reads m's recipients, in order. */
static int
qmsg_read_rcpt(struct sqlite_store *s, struct store_qmsg *m, char **cause)
{
	sqlite3_stmt	*st = s->st_q[Q_RCPT];
	size_t		 cap = 0;
	int		 rc, status = STORE_OK;

	sqlite3_bind_int64(st, 1, m->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((status = qrcpt_from_row(s, st, m, &cap, cause)) != 0)
			break;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot read the recipients", cause);
	sqlite3_reset(st);
	return status;
}

/* Reads m's data, NUL-terminated for callers that treat it as text. */
static int
qmsg_read_data(struct sqlite_store *s, struct store_qmsg *m, char **cause)
{
	sqlite3_stmt	*st = s->st_q[Q_DATA];
	const void	*blob;
	int		 rc, status = STORE_OK;

	sqlite3_bind_int64(st, 1, m->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		blob = sqlite3_column_blob(st, 0);
		m->datalen = (size_t)sqlite3_column_bytes(st, 0);
		m->data = xmalloc(m->datalen + 1);
		if (m->datalen > 0)
			memcpy(m->data, blob, m->datalen);
		m->data[m->datalen] = '\0';
	} else if (rc == SQLITE_DONE) {
		store_set_cause(cause, "%s: queued message %lld has lost its "
		    "data; the database is damaged", s->path, m->id);
		status = STORE_ERROR;
	} else
		status = db_fail(s, rc, "cannot read a queued message", cause);
	sqlite3_reset(st);
	return status;
}

static int
sqlite_queue_add(struct store *base, struct store_qmsg *m, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st;
	long long		 id = 0;
	bool			 own;
	size_t			 i;
	int			 rc, status;

	if (m->message_id == NULL || m->profile == NULL || m->sender == NULL ||
	    m->data == NULL) {
		store_set_cause(cause, "%s: a message without %s cannot be "
		    "queued", s->path, m->message_id == NULL ? "a Message-ID" :
		    m->profile == NULL ? "a profile" : m->sender == NULL ?
		    "a sender" : "data");
		return STORE_ERROR;
	}
	if (m->nrcpt == 0 || m->rcpt == NULL) {
		store_set_cause(cause, "%s: message %s has no recipient; "
		    "nothing to queue", s->path, m->message_id);
		return STORE_ERROR;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].addr == NULL) {
			store_set_cause(cause, "%s: recipient %zu of message "
			    "%s has no address", s->path, i + 1, m->message_id);
			return STORE_ERROR;
		}
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;

	st = s->st_q[Q_ADD];
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)m->submitted);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)m->size);
	if ((status = db_done(s, st, "cannot queue a message", cause)) != 0)
		goto out;
	id = sqlite3_last_insert_rowid(s->db);

	st = s->st_q[Q_ADD_RCPT];
	for (i = 0; i < m->nrcpt; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, m->rcpt[i].addr, -1, SQLITE_STATIC);
		status = db_done(s, st, "cannot queue a recipient", cause);
		if (status != STORE_OK)
			goto out;
	}

	st = s->st_q[Q_ADD_DATA];
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_bind_blob64(st, 2, m->data, (sqlite3_uint64)m->datalen,
	    SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		/* Larger than SQLite takes (SQLITE_TOOBIG). */
		sqlite3_clear_bindings(st);
		status = db_fail(s, rc, "cannot queue the message data", cause);
		goto out;
	}
	status = db_done(s, st, "cannot queue the message data", cause);

out:
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK)
		m->id = id;
	return status;
}

static int
sqlite_queue_list(struct store *base, struct store_qmsg **out, size_t *n,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st;
	struct store_qmsg	*v = NULL;
	size_t			 len = 0, cap = 0, at = 0, rcap = 0;
	long long		 msg;
	bool			 own;
	int			 rc, status;

	*out = NULL;
	*n = 0;
	if ((status = rd_enter(s, &own, cause)) != STORE_OK)
		return status;

	st = s->st_q[Q_LIST];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof *v);
		}
		if ((status = qmsg_from_row(s, st, &v[len], cause)) != 0)
			break;
		len++;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot list the queue", cause);
	sqlite3_reset(st);
	if (status != STORE_OK)
		goto fail;

	/*
	 * All recipients in one pass, merged by id: both are in id order,
	 * so this is one scan rather than a query per message.
	 */
	st = s->st_q[Q_LIST_RCPT];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		msg = sqlite3_column_int64(st, 4);
		while (at < len && v[at].id < msg) {
			at++;
			rcap = 0;
		}
		if (at == len)
			break;
		if (v[at].id != msg)
			continue;
		if ((status = qrcpt_from_row(s, st, &v[at], &rcap, cause)) != 0)
			break;
	}
	if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		status = db_fail(s, rc, "cannot list the queue", cause);
	sqlite3_reset(st);
	if (status != STORE_OK)
		goto fail;

	rd_leave(s, own);
	*out = v;
	*n = len;
	return STORE_OK;

fail:
	rd_leave(s, own);
	store_qmsg_free_array(v, len);
	return status;
}

static int
sqlite_queue_get(struct store *base, long long id, struct store_qmsg *out,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_q[Q_GET];
	bool			 own;
	int			 rc, status;

	memset(out, 0, sizeof *out);
	if ((status = rd_enter(s, &own, cause)) != STORE_OK)
		return status;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		status = qmsg_from_row(s, st, out, cause);
	else if (rc == SQLITE_DONE)
		status = STORE_NOT_FOUND;
	else
		status = db_fail(s, rc, "cannot read a queued message", cause);
	sqlite3_reset(st);
	if (status == STORE_OK)
		status = qmsg_read_rcpt(s, out, cause);
	rd_leave(s, own);
	if (status != STORE_OK)
		store_qmsg_clear(out);
	return status;
}

static int
sqlite_queue_due(struct store *base, time_t now, struct store_qdue **out,
    size_t *n, time_t *next, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st;
	struct store_qdue	*v = NULL;
	size_t			 len = 0, cap = 0;
	bool			 own;
	int			 rc, status = STORE_OK;

	*out = NULL;
	*n = 0;
	*next = 0;
	if ((status = rd_enter(s, &own, cause)) != STORE_OK)
		return status;

	st = s->st_q[Q_DUE];
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[len].profile = column_strdup(st, 0);
		v[len].count = (size_t)sqlite3_column_int64(st, 1);
		len++;
	}
	if (rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot read the queue", cause);
	sqlite3_reset(st);

	if (status == STORE_OK) {
		st = s->st_q[Q_NEXT];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*next = (time_t)sqlite3_column_int64(st, 0);
		else
			status = db_fail(s, rc, "cannot read the queue", cause);
		sqlite3_reset(st);
	}
	rd_leave(s, own);

	if (status != STORE_OK) {
		while (len > 0)
			free(v[--len].profile);
		free(v);
		*next = 0;
		return status;
	}
	*out = v;
	*n = len;
	return STORE_OK;
}

/* Oldest due first: by next attempt, then in the order queued. */
static int
qmsg_due_cmp(const void *a, const void *b)
{
	const struct store_qmsg	*x = a, *y = b;

	if (x->next_attempt != y->next_attempt)
		return x->next_attempt < y->next_attempt ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
sqlite_queue_claim(struct store *base, const char *profile, const char *owner,
    time_t now, time_t lease_until, size_t max, struct store_qmsg **out,
    size_t *n, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_q[Q_CLAIM];
	struct store_qmsg	*v = NULL;
	size_t			 len = 0, cap = 0, i;
	bool			 own;
	int			 rc, status = STORE_OK;

	*out = NULL;
	*n = 0;
	if (profile == NULL || owner == NULL) {
		store_set_cause(cause, "%s: a claim needs a profile and an "
		    "owner", s->path);
		return STORE_ERROR;
	}
	if (max == 0)
		return STORE_OK;
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;

	sqlite3_bind_text(st, 1, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)lease_until);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 5, max > INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)max);
	/* The update is done by the first step; the rest only returns rows. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : (max < 16 ? max : 16);
			v = xreallocarray(v, cap, sizeof *v);
		}
		if ((status = qmsg_from_row(s, st, &v[len], cause)) != 0) {
			store_qmsg_clear(&v[len]);
			break;
		}
		len++;
	}
	if (status == STORE_OK && rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot claim queued messages", cause);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (status != STORE_OK)
		goto out;

	if (len > 1)
		qsort(v, len, sizeof *v, qmsg_due_cmp);
	for (i = 0; i < len; i++) {
		if ((status = qmsg_read_rcpt(s, &v[i], cause)) != STORE_OK ||
		    (status = qmsg_read_data(s, &v[i], cause)) != STORE_OK)
			goto out;
	}

out:
	status = tx_leave(s, own, status, cause);
	if (status != STORE_OK) {
		store_qmsg_free_array(v, len);
		return status;
	}
	*out = v;
	*n = len;
	return STORE_OK;
}

static int
sqlite_queue_record(struct store *base, const struct store_qmsg *m,
    const char *owner, time_t now, char **cause)
{
	struct sqlite_store		*s = (struct sqlite_store *)base;
	sqlite3_stmt			*st;
	const struct store_qrcpt	*r;
	bool				 own;
	size_t				 i;
	int				 status;

	if (owner == NULL) {
		store_set_cause(cause, "%s: recording message %lld needs its "
		    "owner", s->path, m->id);
		return STORE_ERROR;
	}
	/* A sending row without a lease would never be due again. */
	if (!state_valid(m->state) || m->state == QUEUE_SENDING) {
		store_set_cause(cause, "%s: message %lld cannot be recorded as "
		    "%s", s->path, m->id, queue_state_name(m->state));
		return STORE_ERROR;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (!rcpt_state_valid(m->rcpt[i].state)) {
			store_set_cause(cause, "%s: recipient %zu of message "
			    "%lld has no valid state", s->path, i + 1, m->id);
			return STORE_ERROR;
		}
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;

	st = s->st_q[Q_RECORD];
	sqlite3_bind_int64(st, 1, m->id);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, queue_state_name(m->state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 4, m->attempts);
	sqlite3_bind_int(st, 5, m->held);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)m->next_attempt);
	bind_text_or_null(st, 7, m->last_reply);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)now);
	if ((status = db_done(s, st, "cannot record an attempt", cause)) != 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		store_set_cause(cause, "%s: message %lld is no longer held by "
		    "%s (its lease ended or it was released); the outcome is "
		    "not recorded", s->path, m->id, owner);
		status = STORE_STALE;
		goto out;
	}

	st = s->st_q[Q_RECORD_RCPT];
	for (i = 0; i < m->nrcpt; i++) {
		r = &m->rcpt[i];
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, queue_rcpt_state_name(r->state), -1,
		    SQLITE_STATIC);
		if (r->code != 0)
			sqlite3_bind_int(st, 4, r->code);
		bind_text_or_null(st, 5, r->reply);
		status = db_done(s, st, "cannot record a recipient", cause);
		if (status != STORE_OK)
			goto out;
		if (sqlite3_changes(s->db) == 0) {
			store_set_cause(cause, "%s: message %lld has no "
			    "recipient %zu; nothing is recorded", s->path,
			    m->id, i + 1);
			status = STORE_ERROR;
			goto out;
		}
	}

	if (queue_state_final(m->state)) {
		st = s->st_q[Q_DROP_DATA];
		sqlite3_bind_int64(st, 1, m->id);
		status = db_done(s, st, "cannot delete a message's data",
		    cause);
	}

out:
	return tx_leave(s, own, status, cause);
}

/* Runs a queue change binding owner to ?1; *n is the rows it changed. */
static int
queue_by_owner(struct sqlite_store *s, enum qstmt q, const char *owner,
    const time_t *until, size_t *n, const char *what, char **cause)
{
	sqlite3_stmt	*st = s->st_q[q];
	bool		 own;
	size_t		 changed = 0;
	int		 status;

	if (owner == NULL) {
		store_set_cause(cause, "%s: %s: no owner given", s->path, what);
		return STORE_ERROR;
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	if (until != NULL)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)*until);
	status = db_done(s, st, what, cause);
	if (status == STORE_OK)
		changed = (size_t)sqlite3_changes(s->db);
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = changed;
	return status;
}

static int
sqlite_queue_release(struct store *base, const char *owner, size_t *n,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	if (n != NULL)
		*n = 0;
	return queue_by_owner(s, Q_RELEASE, owner, NULL, n,
	    "cannot release queued messages", cause);
}

static int
sqlite_queue_renew(struct store *base, const char *owner, time_t lease_until,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return queue_by_owner(s, Q_RENEW, owner, &lease_until, NULL,
	    "cannot renew a lease", cause);
}

static int
sqlite_queue_recover(struct store *base,
    bool (*alive)(const char *owner, void *arg), void *arg, size_t *n,
    char **cause)
{
	struct sqlite_store	 *s = (struct sqlite_store *)base;
	sqlite3_stmt		 *st = s->st_q[Q_OWNERS];
	char			**owners = NULL;
	size_t			  len = 0, cap = 0, i;
	size_t			  dead = 0, freed = 0;
	bool			  own;
	int			  rc, status = STORE_OK;

	if (n != NULL)
		*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4;
			owners = xreallocarray(owners, cap, sizeof *owners);
		}
		owners[len++] = column_strdup(st, 0);
	}
	if (rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot read the queue", cause);
	sqlite3_reset(st);
	if (status != STORE_OK)
		goto done;

	/*
	 * alive() runs outside the write transaction: it may take a while,
	 * and an owner it calls dead cannot claim more meanwhile.
	 */
	for (i = 0; i < len; i++) {
		if (alive(owners[i], arg)) {
			free(owners[i]);
			owners[i] = NULL;
		} else
			dead++;
	}
	/* Engines poll this: no write lock when every owner runs. */
	if (dead == 0)
		goto done;
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		goto done;
	st = s->st_q[Q_RELEASE];
	for (i = 0; i < len; i++) {
		if (owners[i] == NULL)
			continue;
		sqlite3_bind_text(st, 1, owners[i], -1, SQLITE_STATIC);
		status = db_done(s, st, "cannot release queued messages",
		    cause);
		if (status != STORE_OK)
			break;
		freed += (size_t)sqlite3_changes(s->db);
	}
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = freed;

done:
	for (i = 0; i < len; i++)
		free(owners[i]);
	free(owners);
	return status;
}

static int
sqlite_queue_hold(struct store *base, const char *profile, const char *reason,
    time_t now, time_t until, size_t *n, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	static const enum qstmt	 q[] = { Q_HOLD, Q_HOLD_LEASED };
	sqlite3_stmt		*st;
	size_t			 held = 0, i;
	bool			 own;
	int			 status;

	if (n != NULL)
		*n = 0;
	if (profile == NULL) {
		store_set_cause(cause, "%s: no profile given to hold", s->path);
		return STORE_ERROR;
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	/*
	 * Messages under a lease that ended are due too: left out, they
	 * would stay due and the engine would find them again at once.
	 */
	for (i = 0; i < nitems(q); i++) {
		st = s->st_q[q[i]];
		sqlite3_bind_text(st, 1, profile, -1, SQLITE_STATIC);
		bind_text_or_null(st, 2, reason);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)until);
		status = db_done(s, st, "cannot hold queued messages", cause);
		if (status != STORE_OK)
			break;
		held += (size_t)sqlite3_changes(s->db);
	}
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = held;
	return status;
}

static int
sqlite_queue_wake_held(struct store *base, time_t now, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_q[Q_WAKE];
	bool			 own;
	int			 status;

	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	status = db_done(s, st, "cannot wake held messages", cause);
	return tx_leave(s, own, status, cause);
}

static int
sqlite_queue_purge(struct store *base, time_t before, size_t *n, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	/* Children first: clearer than relying on the cascade. */
	static const enum qstmt	 q[] = { Q_PURGE_RCPT, Q_PURGE_DATA, Q_PURGE };
	sqlite3_stmt		*st;
	size_t			 purged = 0, i;
	bool			 own;
	int			 status;

	if (n != NULL)
		*n = 0;
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	for (i = 0; i < nitems(q); i++) {
		st = s->st_q[q[i]];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
		status = db_done(s, st, "cannot purge the queue", cause);
		if (status != STORE_OK)
			break;
		purged = (size_t)sqlite3_changes(s->db);
	}
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = purged;
	return status;
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
};
