/*
 * store/sqlite_queue.c: the outbound queue on SQLite.
 *
 * The queue keeps messages, their recipients' outcomes and their bodies,
 * and hands due messages to engines under leases: a claim marks them
 * sending for one owner until a time, and only that owner may record the
 * outcome.  Queue changes are not audited (they are not configuration).
 * The store never reads the clock for the queue: callers pass the time, so
 * that the engine and the tests decide what "now" is.
 *
 * It does not decide queue states (core/queue.h does): a release or a
 * hold reads the rows it gives back and writes, by id, the state core
 * decided for each (store/store_row.h's store_qbacks).  Transactions and
 * SQLite's errors are store/sqlite_db.c's.
 */
#include "store/sqlite_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/store_row.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

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
	Q_OWNED,
	Q_GIVE_BACK,
	Q_RENEW,
	Q_OWNERS,
	Q_HOLDABLE,
	Q_HOLD,
	Q_WAKE,
	Q_PURGE_RCPT,
	Q_PURGE_DATA,
	Q_PURGE,
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
	/*
	 * Giving back without an attempt: the rows are read, core decides
	 * each one's state (store_qbacks_release()), and each is written by
	 * id, all in one write transaction.
	 */
	[Q_OWNED] = "SELECT id, attempts FROM queue "
	    "WHERE state = 'sending' AND lease_owner = ?1",
	[Q_GIVE_BACK] = "UPDATE queue SET state = ?2, lease_owner = NULL, "
	    "lease_until = NULL WHERE id = ?1",
	[Q_RENEW] = "UPDATE queue SET lease_until = ?2 "
	    "WHERE state = 'sending' AND lease_owner = ?1",
	[Q_OWNERS] = "SELECT DISTINCT lease_owner FROM queue "
	    "WHERE state = 'sending' AND lease_owner IS NOT NULL",
	/* The same for a hold (store_qbacks_hold()): two halves, as Q_DUE. */
	[Q_HOLDABLE] = "SELECT id, attempts FROM queue WHERE profile = ?1 AND "
	    Q_WAITING " AND next_attempt <= ?2 "
	    "UNION ALL "
	    "SELECT id, attempts FROM queue WHERE profile = ?1 AND "
	    "state = 'sending' AND lease_until <= ?2",
	[Q_HOLD] = "UPDATE queue SET state = ?2, held = ?3, next_attempt = ?4, "
	    "last_reply = ?5, updated = ?6, lease_owner = NULL, "
	    "lease_until = NULL WHERE id = ?1",
	[Q_WAKE] = "UPDATE queue SET held = 0, "
	    "next_attempt = min(next_attempt, ?1), updated = ?1 "
	    "WHERE held = 1 AND " Q_WAITING,
	[Q_PURGE_RCPT] = "DELETE FROM queue_rcpt WHERE msg IN (SELECT id "
	    "FROM queue WHERE " Q_FINAL " AND updated < ?1)",
	[Q_PURGE_DATA] = "DELETE FROM queue_data WHERE msg IN (SELECT id "
	    "FROM queue WHERE " Q_FINAL " AND updated < ?1)",
	[Q_PURGE] = "DELETE FROM queue WHERE " Q_FINAL " AND updated < ?1",
};

int
sqlite_queue_prepare(struct sqlite_store *s, char **cause)
{
	size_t	k;
	int	status;

	s->st_q = xcalloc(Q_COUNT, sizeof *s->st_q);
	for (k = 0; k < Q_COUNT; k++) {
		status = db_prepare(s, qsql[k], SQLITE_PREPARE_PERSISTENT,
		    &s->st_q[k], cause);
		if (status != STORE_OK)
			return status;
	}
	return STORE_OK;
}

void
sqlite_queue_finalize(struct sqlite_store *s)
{
	size_t	k;

	if (s->st_q == NULL)
		return;
	for (k = 0; k < Q_COUNT; k++)
		sqlite3_finalize(s->st_q[k]);
	free(s->st_q);
	s->st_q = NULL;
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

/* Reads m's data (store_queue_body()); a claimed message must have it. */
static int
qmsg_read_data(struct sqlite_store *s, struct store_qmsg *m, char **cause)
{
	int	status;

	status = sqlite_queue_body(&s->base, m, cause);
	if (status == STORE_NOT_FOUND) {
		store_set_cause(cause, "%s: queued message %lld has lost its "
		    "data; the database is damaged", s->path, m->id);
		status = STORE_ERROR;
	}
	return status;
}

/* Stores m's data as the data of message id. */
static int
data_add(struct sqlite_store *s, long long id, const struct store_qmsg *m,
    char **cause)
{
	sqlite3_stmt	*st = s->st_q[Q_ADD_DATA];
	int		 rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_bind_blob64(st, 2, m->data, (sqlite3_uint64)m->datalen,
	    SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		/* Larger than SQLite takes (SQLITE_TOOBIG). */
		sqlite3_clear_bindings(st);
		return db_fail(s, rc, "cannot queue the message data", cause);
	}
	return db_done(s, st, "cannot queue the message data", cause);
}

int
sqlite_queue_add(struct store *base, struct store_qmsg *m, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st;
	long long		 id = 0;
	bool			 own;
	size_t			 i;
	int			 status;

	if ((status = store_qmsg_check_add(s->path, m, cause)) != STORE_OK)
		return status;
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

	status = data_add(s, id, m, cause);

out:
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK)
		m->id = id;
	return status;
}

int
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

int
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

int
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

int
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

int
sqlite_queue_record(struct store *base, const struct store_qmsg *m,
    const char *owner, time_t now, char **cause)
{
	struct sqlite_store		*s = (struct sqlite_store *)base;
	sqlite3_stmt			*st;
	const struct store_qrcpt	*r;
	bool				 own;
	size_t				 i;
	int				 status;

	status = store_qmsg_check_record(s->path, m, owner, cause);
	if (status != STORE_OK)
		return status;
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

/* Adds the rows (id, attempts) a bound statement selects to l. */
static int
qbacks_read(struct sqlite_store *s, sqlite3_stmt *st, struct store_qbacks *l,
    const char *what, char **cause)
{
	int	rc, status = STORE_OK;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		store_qbacks_add(l, sqlite3_column_int64(st, 0),
		    sqlite3_column_int(st, 1));
	if (rc != SQLITE_DONE)
		status = db_fail(s, rc, what, cause);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

/*
 * Gives back owner's messages in the caller's write transaction, so that
 * the rows read are the rows written; adds how many to *n.
 */
static int
give_back(struct sqlite_store *s, const char *owner, size_t *n, char **cause)
{
	static const char	 what[] = "cannot release queued messages";
	struct store_qbacks	 l = { 0 };
	sqlite3_stmt		*st = s->st_q[Q_OWNED];
	size_t			 i;
	int			 status;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	status = qbacks_read(s, st, &l, what, cause);
	store_qbacks_release(&l);
	st = s->st_q[Q_GIVE_BACK];
	for (i = 0; status == STORE_OK && i < l.n; i++) {
		sqlite3_bind_int64(st, 1, l.v[i].id);
		sqlite3_bind_text(st, 2, queue_state_name(l.v[i].state), -1,
		    SQLITE_STATIC);
		if ((status = db_done(s, st, what, cause)) == STORE_OK)
			*n += (size_t)sqlite3_changes(s->db);
	}
	store_qbacks_free(&l);
	return status;
}

int
sqlite_queue_release(struct store *base, const char *owner, size_t *n,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	size_t			 released = 0;
	bool			 own;
	int			 status;

	if (n != NULL)
		*n = 0;
	if (owner == NULL) {
		store_set_cause(cause, "%s: cannot release queued messages: no "
		    "owner given", s->path);
		return STORE_ERROR;
	}
	if ((status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	status = give_back(s, owner, &released, cause);
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = released;
	return status;
}

int
sqlite_queue_renew(struct store *base, const char *owner, time_t lease_until,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return queue_by_owner(s, Q_RENEW, owner, &lease_until, NULL,
	    "cannot renew a lease", cause);
}

int
sqlite_queue_recover(struct store *base,
    bool (*alive)(const char *owner, void *arg), void *arg, size_t *n,
    char **cause)
{
	struct sqlite_store	 *s = (struct sqlite_store *)base;
	sqlite3_stmt		 *st = s->st_q[Q_OWNERS];
	char			**owners = NULL;
	size_t			  len = 0, cap = 0, dead = 0, freed = 0, i;
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
	for (i = 0; status == STORE_OK && i < len; i++) {
		if (owners[i] != NULL)
			status = give_back(s, owners[i], &freed, cause);
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

int
sqlite_queue_hold(struct store *base, const char *profile, const char *reason,
    time_t now, time_t until, size_t *n, char **cause)
{
	static const char	 what[] = "cannot hold queued messages";
	struct sqlite_store	*s = (struct sqlite_store *)base;
	struct store_qbacks	 l = { 0 };
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
	st = s->st_q[Q_HOLDABLE];
	sqlite3_bind_text(st, 1, profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	status = qbacks_read(s, st, &l, what, cause);
	store_qbacks_hold(&l, until);
	st = s->st_q[Q_HOLD];
	for (i = 0; status == STORE_OK && i < l.n; i++) {
		sqlite3_bind_int64(st, 1, l.v[i].id);
		sqlite3_bind_text(st, 2, queue_state_name(l.v[i].state), -1,
		    SQLITE_STATIC);
		sqlite3_bind_int(st, 3, l.v[i].held);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)l.v[i].next_attempt);
		bind_text_or_null(st, 5, reason);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
		if ((status = db_done(s, st, what, cause)) == STORE_OK)
			held += (size_t)sqlite3_changes(s->db);
	}
	store_qbacks_free(&l);
	status = tx_leave(s, own, status, cause);
	if (status == STORE_OK && n != NULL)
		*n = held;
	return status;
}

int
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

int
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

/* NUL-terminated for callers that treat it as text. */
int
sqlite_queue_body(struct store *base, struct store_qmsg *m, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_q[Q_DATA];
	const void		*blob;
	int			 rc, status = STORE_NOT_FOUND;

	m->data = NULL;
	m->datalen = 0;
	sqlite3_bind_int64(st, 1, m->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		blob = sqlite3_column_blob(st, 0);
		m->datalen = (size_t)sqlite3_column_bytes(st, 0);
		m->data = xmalloc(m->datalen + 1);
		if (m->datalen > 0)
			memcpy(m->data, blob, m->datalen);
		m->data[m->datalen] = '\0';
		status = STORE_OK;
	} else if (rc != SQLITE_DONE)
		status = db_fail(s, rc, "cannot read a queued message", cause);
	sqlite3_reset(st);
	return status;
}

/*
 * Three statements prepared for each message: a copy runs once, and its
 * statements need not cost every connection a prepare at open.  The id is
 * the message's: the queue's INTEGER PRIMARY KEY, without AUTOINCREMENT,
 * gives the next message the largest id plus one.
 */
int
sqlite_queue_restore(struct store *base, const struct store_qmsg *m,
    char **cause)
{
	struct sqlite_store		*s = (struct sqlite_store *)base;
	const struct store_qrcpt	*r;
	sqlite3_stmt			*st = NULL;
	bool				 own;
	size_t				 i;
	int				 status;

	if ((status = store_qmsg_check_restore(s->path, m, cause)) != 0 ||
	    (status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	status = db_prepare(s, "INSERT INTO queue (id, message_id, profile, "
	    "sender, state, attempts, held, submitted, next_attempt, updated, "
	    "last_reply, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12)", 0, &st, cause);
	if (status != STORE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, m->id);
	sqlite3_bind_text(st, 2, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, m->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, queue_state_name(m->state), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 6, m->attempts);
	sqlite3_bind_int(st, 7, m->held);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)m->submitted);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->next_attempt);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)m->updated);
	bind_text_or_null(st, 11, m->last_reply);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)m->size);
	if ((status = db_done(s, st, "cannot copy a message", cause)) != 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	status = db_prepare(s, "INSERT INTO queue_rcpt (msg, idx, addr, "
	    "state, code, reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", 0, &st,
	    cause);
	for (i = 0; status == STORE_OK && i < m->nrcpt; i++) {
		r = &m->rcpt[i];
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, r->addr, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, queue_rcpt_state_name(r->state), -1,
		    SQLITE_STATIC);
		if (r->code != 0)
			sqlite3_bind_int(st, 5, r->code);
		bind_text_or_null(st, 6, r->reply);
		status = db_done(s, st, "cannot copy a recipient", cause);
	}
	if (status == STORE_OK && m->data != NULL)
		status = data_add(s, m->id, m, cause);

out:
	sqlite3_finalize(st);
	return tx_leave(s, own, status, cause);
}
