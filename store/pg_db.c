/*
 * store/pg_db.c: the PostgreSQL backend's connection (store/backend.h):
 * connecting, the schema and its migrations, transactions, change
 * notification and the mapping of libpq's errors to store statuses.
 *
 * A URI that store/pg_uri.c refuses (the password would cross a network
 * in clear) is never connected to, and messages name the URI without its
 * password.  The schema moves forward one numbered step per transaction,
 * under an advisory lock so that two processes opening a new database at
 * once do not collide; a newer schema and a server older than 12 are
 * refused.  Configuration writers take a second advisory lock, which
 * orders them as SQLite's write lock does and makes audit ids (the
 * configuration generation) grow in commit order.
 *
 * Profiles and settings are store/pg_config.c's, the queue
 * store/pg_queue.c's.  It creates no databases or roles (the database
 * administrator's job; gwsmtp's role need not be allowed to), and checks
 * on no other host whether an engine still runs.
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* The advisory locks' first key, "gwsm" (SQLite's application_id). */
#define PG_LOCK_SPACE	"1735881581"

/* Seconds a connection attempt waits when the URI sets no connect_timeout. */
#define PG_CONNECT_TIMEOUT	"10"

/* Milliseconds a statement waits for a lock, as SQLite's busy timeout. */
#define PG_LOCK_TIMEOUT	5000

/* The oldest server this SQL is written for (GENERATED, SKIP LOCKED, ...). */
#define PG_MIN_SERVER	120000

/*
 * migrations[v] takes the schema from version v to v + 1, in the same
 * numbering as SQLite's (STORE_SCHEMA_VERSION): each runs in its own
 * transaction together with the version row in gwsmtp_meta.  History:
 * never edit a released step; add the next one.
 *
 * Names sort as SQLite sorts them (byte order: COLLATE "C"), whatever the
 * database's collation.  Times are bigint seconds, as in SQLite.
 */
static const char *const migrations[] = {
	/* 0 -> 1: configuration. */
	"CREATE TABLE gwsmtp_meta ("
	" key text PRIMARY KEY,"
	" value text NOT NULL);"
	"INSERT INTO gwsmtp_meta (key, value) VALUES ('schema_version', '0');"
	"CREATE TABLE profiles ("
	" name text COLLATE \"C\" PRIMARY KEY,"
	" active boolean NOT NULL,"
	" host text,"
	" port integer NOT NULL,"
	" alt_hosts text,"
	" tls text NOT NULL,"
	" starttls text NOT NULL,"
	" verify boolean NOT NULL,"
	" ca_file text,"
	" fingerprint text,"
	" tls_min text NOT NULL,"
	" auth text NOT NULL,"
	" username text,"
	" password text,"
	" trace text,"
	" allow_plain_auth_without_tls boolean NOT NULL,"
	" from_addr text,"
	" to_addr text,"
	" helo text,"
	" timeout integer NOT NULL,"
	" retries integer NOT NULL,"
	" retry_delay integer NOT NULL,"
	" retry_max integer NOT NULL,"
	" max_connections integer NOT NULL,"
	" comment text,"
	" revision bigint NOT NULL,"
	" created bigint NOT NULL,"
	" updated bigint NOT NULL);"
	"CREATE TABLE settings ("
	" key text PRIMARY KEY,"
	" value text NOT NULL);"
	"CREATE TABLE audit ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" time bigint NOT NULL,"
	" os_user text NOT NULL,"
	" program text NOT NULL,"
	" action text NOT NULL,"
	" profile text,"
	" keys text NOT NULL);",

	/*
	 * 1 -> 2: the outbound queue, as SQLite's, plus the claim token: a
	 * claim stamps each row with the next value of queue_claim, and an
	 * outcome is recorded only while owner and token still hold.  The
	 * indexes are partial, as SQLite's: sent and failed rows kept until
	 * a purge cost a claim nothing.
	 */
	"CREATE SEQUENCE queue_claim;"
	"CREATE TABLE queue ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" message_id text NOT NULL,"
	" profile text COLLATE \"C\" NOT NULL,"
	" sender text NOT NULL,"
	" state text NOT NULL,"
	" attempts integer NOT NULL,"
	" held boolean NOT NULL,"
	" submitted bigint NOT NULL,"
	" next_attempt bigint NOT NULL,"
	" updated bigint NOT NULL,"
	" last_reply text,"
	" size bigint NOT NULL,"
	" lease_owner text,"
	" lease_until bigint,"
	" claim bigint);"
	"CREATE TABLE queue_rcpt ("
	" msg bigint NOT NULL REFERENCES queue (id) ON DELETE CASCADE,"
	" idx integer NOT NULL,"
	" addr text NOT NULL,"
	" state text NOT NULL,"
	" code integer,"
	" reply text,"
	" PRIMARY KEY (msg, idx));"
	"CREATE TABLE queue_data ("
	" msg bigint PRIMARY KEY REFERENCES queue (id) ON DELETE CASCADE,"
	" data bytea NOT NULL);"
	"CREATE INDEX queue_waiting ON queue (profile, next_attempt, id)"
	" WHERE state IN ('queued', 'deferred');"
	"CREATE INDEX queue_sending ON queue (profile, lease_until)"
	" WHERE state = 'sending';"
	"CREATE INDEX queue_owner ON queue (lease_owner)"
	" WHERE state = 'sending';",
};
_Static_assert(nitems(migrations) == STORE_SCHEMA_VERSION,
    "one migration step per schema version");

/* Errors. */

/*
 * A message on one line: libpq's newlines and tabs, and the runs of spaces
 * they leave, become one space.  Caller frees.
 */
static char *
one_line(const char *msg)
{
	char	*out, *o;

	if (msg == NULL)
		msg = "unknown error";
	o = out = xmalloc(strlen(msg) + 1);
	for (; *msg != '\0'; msg++) {
		if (*msg != '\n' && *msg != '\t' && *msg != ' ')
			*o++ = *msg;
		else if (o > out && o[-1] != ' ')
			*o++ = ' ';
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

int
pg_fail(struct pg_store *s, const PGresult *res, const char *what,
    char **cause)
{
	const char	*state = NULL, *primary = NULL;
	char		*msg;
	int		 status = STORE_ERROR;

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	}
	msg = one_line(primary != NULL ? primary : PQerrorMessage(s->conn));
	if (PQstatus(s->conn) == CONNECTION_BAD ||
	    (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0))) {
		store_set_cause(cause, "%s: %s: the PostgreSQL server is not "
		    "available (%s); try again when it is", s->shown, what,
		    msg);
		status = STORE_BUSY;
	} else if (state == NULL)
		store_set_cause(cause, "%s: %s: %s", s->shown, what, msg);
	else if (strncmp(state, "28", 2) == 0 || strcmp(state, "42501") == 0) {
		store_set_cause(cause, "%s: %s: %s; the database administrator "
		    "must grant this role the right", s->shown, what, msg);
		status = STORE_PERM;
	} else if (strcmp(state, "55P03") == 0) {
		store_set_cause(cause, "%s: the database is locked by another "
		    "process (waited %d s); try again when it has finished",
		    s->shown, PG_LOCK_TIMEOUT / 1000);
		status = STORE_BUSY;
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		store_set_cause(cause, "%s: %s: another process's change got "
		    "in the way (%s); try again", s->shown, what, msg);
		status = STORE_BUSY;
	} else if (strcmp(state, "53100") == 0)
		store_set_cause(cause, "%s: %s: the server's disk is full; free "
		    "some space and try again", s->shown, what);
	else
		store_set_cause(cause, "%s: %s: %s", s->shown, what, msg);
	free(msg);
	return status;
}

const char *
pg_num(char *buf, long long v)
{
	snprintf(buf, 24, "%lld", v);
	return buf;
}

long long
pg_changes(const PGresult *res)
{
	return strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
}

static void	session_lost(struct pg_store *);

/*
 * Before a statement outside any transaction: a connection that broke
 * (the server restarted) is made again, so that a long-running engine
 * outlives a restart.  Never inside a transaction, whose first half the
 * server has thrown away.
 */
static void
pg_ready(struct pg_store *s)
{
	if (PQstatus(s->conn) == CONNECTION_BAD && !s->in_tx && !s->own_tx)
		session_lost(s);
}

static int
result_status(struct pg_store *s, PGresult *r, PGresult **res,
    const char *what, char **cause)
{
	ExecStatusType	st = PQresultStatus(r);
	int		status;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return STORE_OK;
	}
	status = pg_fail(s, r, what, cause);
	PQclear(r);
	/* The server aborts the whole transaction on any error. */
	if (s->in_tx)
		s->tx_failed = true;
	return status;
}

int
pg_run(struct pg_store *s, const char *sql, int n, const char *const *params,
    PGresult **res, const char *what, char **cause)
{
	pg_ready(s);
	/* PQexec for parameterless scripts: it takes several statements. */
	return result_status(s, n == 0 ? PQexec(s->conn, sql) :
	    PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0), res,
	    what, cause);
}

int
pg_run_prepared(struct pg_store *s, enum pg_prep id, const char *sql, int n,
    const unsigned int *types, const char *const *params, const int *lens,
    const int *fmts, bool binary, PGresult **res, const char *what,
    char **cause)
{
	char	name[16];
	int	status;

	pg_ready(s);
	snprintf(name, sizeof name, "gwsmtp_%d", (int)id);
	if (!s->prepared[id]) {
		status = result_status(s, PQprepare(s->conn, name, sql, n,
		    (const Oid *)types), NULL, what, cause);
		if (status != STORE_OK)
			return status;
		s->prepared[id] = true;
	}
	return result_status(s, PQexecPrepared(s->conn, name, n, params, lens,
	    fmts, binary ? 1 : 0), res, what, cause);
}

/* Transactions. */

static void
rollback_quietly(struct pg_store *s)
{
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE &&
	    PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* COMMIT, which on a transaction the server had aborted says ROLLBACK. */
static int
commit(struct pg_store *s, char **cause)
{
	PGresult	*r = NULL;
	int		 status;

	if (PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
		store_set_cause(cause, "%s: a change in this transaction failed; "
		    "nothing was stored", s->shown);
		return STORE_ERROR;
	}
	status = result_status(s, PQexec(s->conn, "COMMIT"), &r, "cannot "
	    "commit", cause);
	if (status == STORE_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		store_set_cause(cause, "%s: the server rolled the transaction "
		    "back; nothing was stored", s->shown);
		status = STORE_ERROR;
	}
	PQclear(r);
	return status;
}

int
pg_tx_usable(struct pg_store *s, char **cause)
{
	if (s->in_tx && s->tx_failed) {
		store_set_cause(cause, "%s: an earlier change in this "
		    "transaction failed; roll it back", s->shown);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int
pg_tx_enter(struct pg_store *s, bool config, bool *own, char **cause)
{
	int	status;

	*own = false;
	if ((status = pg_tx_usable(s, cause)) != STORE_OK)
		return status;
	if (!s->in_tx) {
		status = pg_run(s, "BEGIN", 0, NULL, NULL, "cannot start a "
		    "write", cause);
		if (status != STORE_OK)
			return status;
		*own = s->own_tx = true;
	}
	if (config && !s->tx_locked) {
		status = pg_run(s, "SELECT pg_advisory_xact_lock("
		    PG_LOCK_SPACE ", 2)", 0, NULL, NULL, "cannot lock the "
		    "configuration", cause);
		if (status != STORE_OK)
			return pg_tx_leave(s, *own, status, cause);
		s->tx_locked = s->in_tx;
	}
	return STORE_OK;
}

int
pg_tx_leave(struct pg_store *s, bool own, int status, char **cause)
{
	if (!own) {
		if (s->in_tx && status != STORE_OK && status != STORE_STALE &&
		    status != STORE_NOT_FOUND)
			s->tx_failed = true;
		return status;
	}
	if (status == STORE_OK)
		status = commit(s, cause);
	if (status != STORE_OK)
		rollback_quietly(s);
	s->own_tx = false;
	return status;
}

/* Connecting. */

static void
quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;	/* "relation exists, skipping" and the like */
}

/*
 * What a failed connection attempt means.  libpq gives no SQLSTATE for
 * it, so this reads its message (English; a server set to another
 * language for lc_messages falls to the last case):
 * - wrong password, unknown role, no pg_hba.conf entry, no password given:
 *   STORE_PERM (77), as a file this user may not open;
 * - the database does not exist: STORE_BADFILE (78, a configuration
 *   error), as a path that is not a gwsmtp database: gwsmtp creates no
 *   databases (its role need not be allowed to), the administrator does;
 * - TLS refused or a certificate that does not verify: STORE_BADFILE, the
 *   URI or the server's TLS set-up must change;
 * - anything else (no server listening, host unreachable or unknown, the
 *   server starting up or full): STORE_BUSY (75, temporary), as a
 *   database locked by another process: the same command works once the
 *   server is back, and gwengine's service manager retries it.
 */
static int
connect_failed(PGconn *conn, const char *shown, char **cause)
{
	char		*msg = one_line(PQerrorMessage(conn));
	const char	*hint;
	int		 status;

	if (PQconnectionNeedsPassword(conn) ||
	    strstr(msg, "authentication failed") != NULL ||
	    strstr(msg, "no pg_hba.conf entry") != NULL ||
	    (strstr(msg, "role \"") != NULL &&
	    strstr(msg, "does not exist") != NULL) ||
	    strstr(msg, "permission denied") != NULL) {
		status = STORE_PERM;
		hint = "check the user and password (in the URI, ~/.pgpass or "
		    "PGPASSWORD) and the server's pg_hba.conf";
	} else if (strstr(msg, "database \"") != NULL &&
	    strstr(msg, "does not exist") != NULL) {
		status = STORE_BADFILE;
		hint = "create it first (createdb), or name another database";
	} else if (strstr(msg, "SSL") != NULL ||
	    strstr(msg, "certificate") != NULL) {
		status = STORE_BADFILE;
		hint = "check the URI's sslmode and sslrootcert and the server's "
		    "TLS set-up";
	} else {
		status = STORE_BUSY;
		hint = "is the server running and reachable? try again when it "
		    "is";
	}
	store_set_cause(cause, "%s: cannot connect to PostgreSQL: %s; %s",
	    shown, msg, hint);
	free(msg);
	return status;
}

/* What every connection sets: lock timeout, and LISTEN on both channels. */
static int
session_setup(struct pg_store *s, char **cause)
{
	char	sql[160];

	s->backend_pid = PQbackendPID(s->conn);
	memset(s->prepared, 0, sizeof s->prepared);
	snprintf(sql, sizeof sql, "SET lock_timeout = %d; LISTEN "
	    PG_CHANNEL_CONFIG "; LISTEN " PG_CHANNEL_QUEUE, PG_LOCK_TIMEOUT);
	return pg_run(s, sql, 0, NULL, NULL, "cannot set up the connection",
	    cause);
}

/*
 * The connection broke outside a transaction: connect again.  What was
 * notified meanwhile is lost, so the next store_changed() says changed.
 */
static void
session_lost(struct pg_store *s)
{
	PQreset(s->conn);
	if (PQstatus(s->conn) == CONNECTION_OK &&
	    session_setup(s, NULL) == STORE_OK)
		s->missed = true;
}

static PGconn *
connect_uri(const char *uri, const char *program)
{
	/* Later values win: the URI may set its own timeout and name. */
	const char *const keys[] = { "connect_timeout",
	    "fallback_application_name", "dbname", "client_encoding", NULL };
	const char *const values[] = { PG_CONNECT_TIMEOUT, program, uri,
	    "UTF8", NULL };

	return PQconnectdbParams(keys, values, 1);
}

/* Schema. */

/*
 * The schema version, 0 for a database without gwsmtp's tables.  A
 * database that has tables of gwsmtp's names but no version, or a newer
 * version, is refused (STORE_BADFILE).
 */
static int
schema_version(struct pg_store *s, long long *version, char **cause)
{
	PGresult	*r;
	char		*end;
	long long	 v;
	int		 status;

	/*
	 * pg_class read with the statement's snapshot, not to_regclass(),
	 * whose catalog cache may still miss a table another process created
	 * while this one waited for the schema lock.
	 */
	status = pg_run(s, "SELECT coalesce(bool_or(relname = 'gwsmtp_meta'), "
	    "false), count(*) > 0 FROM pg_class WHERE relnamespace = "
	    "current_schema()::regnamespace AND relname IN ('gwsmtp_meta', "
	    "'profiles', 'settings', 'audit', 'queue')", 0, NULL, &r,
	    "cannot read the schema", cause);
	if (status != STORE_OK)
		return status;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		status = strcmp(PQgetvalue(r, 0, 1), "t") == 0 ?
		    STORE_BADFILE : STORE_OK;
		PQclear(r);
		if (status != STORE_OK)
			store_set_cause(cause, "%s holds tables named like "
			    "gwsmtp's (profiles, settings, audit, queue) but "
			    "is not a gwsmtp database; give another database",
			    s->shown);
		*version = 0;
		return status;
	}
	PQclear(r);
	status = pg_run(s, "SELECT value FROM gwsmtp_meta WHERE key = "
	    "'schema_version'", 0, NULL, &r, "cannot read the schema", cause);
	if (status != STORE_OK)
		return status;
	v = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), &end, 10) : -1;
	if (PQntuples(r) != 1 || *end != '\0' || v < 0) {
		store_set_cause(cause, "%s: gwsmtp_meta holds no schema version "
		    "gwsmtp writes; restore the database from a backup",
		    s->shown);
		status = STORE_BADFILE;
	} else if (v > STORE_SCHEMA_VERSION) {
		store_set_cause(cause, "%s has schema version %lld, newer than "
		    "this program's %d; upgrade gwsmtp", s->shown, v,
		    STORE_SCHEMA_VERSION);
		status = STORE_BADFILE;
	}
	PQclear(r);
	*version = v;
	return status;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION, one step per transaction.  The
 * version is read again under the schema lock: another process may have
 * migrated while this one waited for it.
 */
static int
migrate(struct pg_store *s, char **cause)
{
	const char	*params[1];
	char		 buf[24];
	long long	 v;
	int		 status;

	for (;;) {
		if ((status = schema_version(s, &v, cause)) != STORE_OK)
			return status;
		if (v == STORE_SCHEMA_VERSION)
			return STORE_OK;
		if ((status = pg_run(s, "BEGIN", 0, NULL, NULL, "cannot start "
		    "the schema upgrade", cause)) != STORE_OK)
			return status;
		s->own_tx = true;
		if ((status = pg_run(s, "SELECT pg_advisory_xact_lock("
		    PG_LOCK_SPACE ", 1)", 0, NULL, NULL, "cannot lock the "
		    "schema", cause)) != STORE_OK ||
		    (status = schema_version(s, &v, cause)) != STORE_OK)
			break;
		if (v < STORE_SCHEMA_VERSION) {
			if ((status = pg_run(s, migrations[v], 0, NULL, NULL,
			    "cannot upgrade the schema", cause)) != STORE_OK)
				break;
			params[0] = pg_num(buf, v + 1);
			if ((status = pg_run(s, "UPDATE gwsmtp_meta SET value = "
			    "$1 WHERE key = 'schema_version'", 1, params, NULL,
			    "cannot upgrade the schema", cause)) != STORE_OK)
				break;
		}
		if ((status = pg_tx_leave(s, true, STORE_OK, cause)) != 0)
			return status;
	}
	return pg_tx_leave(s, true, status, cause);
}

/* The backend. */

static void
pg_free(struct pg_store *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		PQfinish(s->conn);
	free(s->shown);
	free(s->program);
	free(s->os_user);
	free(s->sql_get);
	free(s->sql_list);
	free(s->sql_insert);
	free(s->sql_update);
	free(s);
}

static void
pg_close(struct store *base)
{
	struct pg_store	*s = pg_of(base);

	if (s == NULL)
		return;
	if (s->in_tx)
		rollback_quietly(s);
	pg_free(s);
}

/* store_begin() with sql, or store_begin_read() (read). */
static int
tx_open(struct pg_store *s, const char *sql, const char *what, bool read,
    char **cause)
{
	int	status;

	if (s->in_tx) {
		store_set_cause(cause, "%s: a transaction is already open",
		    s->shown);
		return STORE_ERROR;
	}
	status = pg_run(s, sql, 0, NULL, NULL, what, cause);
	if (status != STORE_OK)
		return status;
	s->in_tx = true;
	s->tx_failed = false;
	s->tx_locked = false;
	s->in_read = read;
	return STORE_OK;
}

static int
pg_begin(struct store *base, char **cause)
{
	return tx_open(pg_of(base), "BEGIN", "cannot start a write", false,
	    cause);
}

static void
pg_rollback(struct store *base)
{
	struct pg_store	*s = pg_of(base);

	if (!s->in_tx)
		return;
	rollback_quietly(s);
	s->in_tx = false;
	s->tx_failed = false;
	s->tx_locked = false;
}

static int
pg_commit(struct store *base, char **cause)
{
	struct pg_store	*s = pg_of(base);
	int		 status;

	if (!s->in_tx) {
		store_set_cause(cause, "%s: no transaction is open", s->shown);
		return STORE_ERROR;
	}
	if (s->tx_failed) {
		pg_rollback(base);
		store_set_cause(cause, "%s: a change in this transaction failed; "
		    "nothing was stored", s->shown);
		return STORE_ERROR;
	}
	status = commit(s, cause);
	if (status != STORE_OK)
		rollback_quietly(s);
	s->in_tx = false;
	s->tx_locked = false;
	return status;
}

/*
 * Whether another connection committed a change since the last call: a
 * notification on either channel from another backend.  No query: it
 * reads what the server has already sent, without blocking.
 */
static int
pg_changed(struct store *base, bool *changed, char **cause)
{
	struct pg_store	*s = pg_of(base);
	PGnotify	*n;
	bool		 any = false;

	*changed = false;
	if (PQconsumeInput(s->conn) == 0) {
		pg_ready(s);
		if (PQstatus(s->conn) != CONNECTION_OK)
			return pg_fail(s, NULL, "cannot read notifications",
			    cause);
	}
	while ((n = PQnotifies(s->conn)) != NULL) {
		if (n->be_pid != s->backend_pid)
			any = true;
		PQfreemem(n);
	}
	*changed = any || s->missed;
	s->missed = false;
	return STORE_OK;
}

int
pg_store_socket(struct store *base)
{
	return PQsocket(pg_of(base)->conn);
}

static int
pg_notify_fd(struct store *base, char **cause)
{
	struct pg_store	*s = pg_of(base);
	int		 fd = PQsocket(s->conn);

	if (fd == -1)
		store_set_cause(cause, "%s: no connection to wait on",
		    s->shown);
	return fd;
}

static const struct store_ops pg_ops = {
	.name = "PostgreSQL",
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.profile_get = pg_profile_get,
	.profile_list = pg_profile_list,
	.profile_count = pg_profile_count,
	.profile_names = pg_profile_names,
	.profile_put = pg_profile_put,
	.profile_delete = pg_profile_delete,
	.settings_get = pg_settings_get,
	.settings_put = pg_settings_put,
	.changed = pg_changed,
	.notify_fd = pg_notify_fd,
	.audit_foreach = pg_audit_foreach,
	.config_generation = pg_config_generation,
	.queue_add = pg_queue_add,
	.queue_list = pg_queue_list,
	.queue_get = pg_queue_get,
	.queue_due = pg_queue_due,
	.queue_claim = pg_queue_claim,
	.queue_record = pg_queue_record,
	.queue_release = pg_queue_release,
	.queue_renew = pg_queue_renew,
	.queue_recover = pg_queue_recover,
	.queue_hold = pg_queue_hold,
	.queue_wake_held = pg_queue_wake_held,
	.queue_purge = pg_queue_purge,
	.begin_read = pg_begin_read,
	.counts = pg_counts,
	.shown = pg_shown,
	.profile_restore = pg_profile_restore,
	.settings_restore = pg_settings_restore,
	.audit_restore = pg_audit_restore,
	.queue_body = pg_queue_body,
	.queue_restore = pg_queue_restore,
};

int
pg_store_open(const char *uri, const char *program, struct store **out,
    char **cause)
{
	struct pg_store	*s;
	int		 status, version;

	*out = NULL;
	if ((status = pg_uri_check(uri, cause)) != STORE_OK)
		return status;

	s = xcalloc(1, sizeof *s);
	s->base.ops = &pg_ops;
	s->shown = pg_uri_shown(uri);
	s->program = xstrdup(program != NULL ? program : "gwsmtp");
	s->os_user = store_user_name(geteuid());

	s->conn = connect_uri(uri, s->program);
	if (s->conn == NULL) {
		store_set_cause(cause, "%s: cannot connect to PostgreSQL: out "
		    "of memory", s->shown);
		status = STORE_ERROR;
		goto fail;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		status = connect_failed(s->conn, s->shown, cause);
		goto fail;
	}
	PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
	if ((version = PQserverVersion(s->conn)) < PG_MIN_SERVER) {
		store_set_cause(cause, "%s: the PostgreSQL server is version "
		    "%d.%d, older than 12, which gwsmtp needs; upgrade the "
		    "server", s->shown, version / 10000, version / 100 % 100);
		status = STORE_BADFILE;
		goto fail;
	}
	if ((status = session_setup(s, cause)) != STORE_OK ||
	    (status = migrate(s, cause)) != STORE_OK)
		goto fail;
	pg_config_init(s);
	/* Nothing read yet: whatever arrived during the set-up is old. */
	s->missed = false;
	*out = &s->base;
	return STORE_OK;

fail:
	pg_free(s);
	return status;
}

/* One snapshot, taken by the first statement, for the whole transaction. */
int
pg_begin_read(struct store *base, char **cause)
{
	return tx_open(pg_of(base), "BEGIN ISOLATION LEVEL REPEATABLE READ, "
	    "READ ONLY", "cannot start a read", true, cause);
}

/*
 * Inside store_begin(), SHARE ROW EXCLUSIVE: no other session writes to
 * these tables or takes the same lock until the transaction ends, while
 * plain reads go on (and SELECT ... FOR UPDATE, whose writes then wait).
 * A read-only transaction may not take it, and needs none.
 */
int
pg_counts(struct store *base, struct store_counts *out, char **cause)
{
	struct pg_store	*s = pg_of(base);
	PGresult	*r;
	int		 status;

	if (s->in_tx && !s->in_read && (status = pg_run(s, "LOCK TABLE "
	    "profiles, settings, audit, queue IN SHARE ROW EXCLUSIVE MODE", 0,
	    NULL, NULL, "cannot lock the database", cause)) != STORE_OK)
		return status;
	status = pg_run(s, "SELECT (SELECT count(*) FROM profiles), "
	    "(SELECT count(*) FROM settings), (SELECT count(*) FROM audit), "
	    "(SELECT count(*) FROM queue)", 0, NULL, &r, "cannot read the "
	    "database", cause);
	if (status != STORE_OK)
		return status;
	out->profiles = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	out->settings = (size_t)strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	out->audit = (size_t)strtoull(PQgetvalue(r, 0, 2), NULL, 10);
	out->queue = (size_t)strtoull(PQgetvalue(r, 0, 3), NULL, 10);
	PQclear(r);
	return STORE_OK;
}

const char *
pg_shown(struct store *base)
{
	return pg_of(base)->shown;
}
