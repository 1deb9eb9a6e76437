/*
 * store/pg_queue.c: the outbound queue on PostgreSQL (store/backend.h),
 * shared by engines on several hosts.
 *
 * A claim picks a profile's oldest due messages with FOR UPDATE SKIP
 * LOCKED, so that engines claiming at once take different messages
 * without waiting for each other, and stamps each with the owner, the
 * lease end and a claim token (the next value of the queue_claim
 * sequence).  An outcome is written only while owner and token still
 * hold: an engine whose lease ended and was taken over writes nothing
 * (STORE_STALE).  A lease that ended makes the message due for any engine.
 *
 * Round trips are counted: a claim of a batch is one statement for the
 * messages, one for all their recipients and one for all their data;
 * queueing a message, recording an outcome and the rest are one statement
 * each (CTEs write the message, its recipients and its data together),
 * and the hot ones are prepared once per connection.  A release and a
 * hold are two: the rows they give back are read, core decides each
 * one's state, and one UPDATE from unnest() writes them back by id.  As
 * in SQLite, the store never reads the clock for the queue (callers pass
 * now), and queue changes are not audited.
 *
 * It decides no queue state (core/queue.h does), and it checks no process
 * across hosts (see pg_queue_recover()).
 */
#include "store/pg_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/store_row.h"

/* The queue table's columns as qmsg_from_row() reads them. */
#define Q_COLUMNS	"q.id, q.message_id, q.profile, q.sender, q.state, " \
			"q.attempts, q.held, q.submitted, q.next_attempt, " \
			"q.updated, q.last_reply, q.size, q.claim"
#define Q_NCOLUMNS	13
#define Q_WAITING	"state IN ('queued', 'deferred')"
#define Q_LAPSED	"state = 'sending' AND lease_until <= $4"

/* PostgreSQL's type OID of bytea (catalog/pg_type.h is server-side). */
#define BYTEAOID	17

/*
 * One change of one statement: atomic alone, in store_begin()'s
 * transaction if one is open.  *n (may be NULL) is how many rows it
 * changed.
 */
static int
q_change(struct pg_store *s, const char *sql, int nparams,
    const char *const *params, size_t *n, const char *what, char **cause)
{
	PGresult	*r;
	int		 status;

	if (n != NULL)
		*n = 0;
	if ((status = pg_tx_usable(s, cause)) != STORE_OK)
		return status;
	status = pg_run(s, sql, nparams, params, &r, what, cause);
	if (status != STORE_OK)
		return status;
	if (n != NULL)
		*n = (size_t)pg_changes(r);
	PQclear(r);
	return STORE_OK;
}

/* A PostgreSQL array literal of n items (NULL items are NULL).  Caller frees. */
static char *
array_literal(const char *const *items, size_t n)
{
	char		*out, *o;
	const char	*c;
	size_t		 len = 3, i;

	for (i = 0; i < n; i++)
		len += items[i] != NULL ? 2 * strlen(items[i]) + 3 : 5;
	o = out = xmalloc(len);
	*o++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		if (items[i] == NULL) {
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (c = items[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				*o++ = '\\';
			*o++ = *c;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

/* An array literal of the messages' ids, in their order.  Caller frees. */
static char *
id_array(const struct store_qmsg *v, size_t n)
{
	char	*out = xmalloc(n * 21 + 3), *o = out;
	size_t	 i;

	*o++ = '{';
	for (i = 0; i < n; i++)
		o += sprintf(o, "%s%lld", i > 0 ? "," : "", v[i].id);
	*o++ = '}';
	*o = '\0';
	return out;
}

static char *
value_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL :
	    xstrdup(PQgetvalue(r, row, col));
}

static long long
value_number(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Fills m, which owns nothing, from the Q_COLUMNS of a row. */
static int
qmsg_from_row(struct pg_store *s, const PGresult *r, int row,
    struct store_qmsg *m, char **cause)
{
	const char	*state = PQgetvalue(r, row, 4);

	memset(m, 0, sizeof *m);
	m->id = value_number(r, row, 0);
	if (queue_state_parse(state, &m->state) != 0) {
		store_set_cause(cause, "%s: queued message %lld has an unknown "
		    "state '%s'; the database is damaged", s->shown, m->id,
		    state);
		return STORE_ERROR;
	}
	m->message_id = value_or_null(r, row, 1);
	m->profile = value_or_null(r, row, 2);
	m->sender = value_or_null(r, row, 3);
	m->attempts = (int)value_number(r, row, 5);
	m->held = strcmp(PQgetvalue(r, row, 6), "t") == 0;
	m->submitted = (time_t)value_number(r, row, 7);
	m->next_attempt = (time_t)value_number(r, row, 8);
	m->updated = (time_t)value_number(r, row, 9);
	m->last_reply = value_or_null(r, row, 10);
	m->size = (size_t)value_number(r, row, 11);
	m->claim = value_number(r, row, 12);	/* NULL reads as 0 */
	return STORE_OK;
}

/* Appends a recipient from columns col.. (addr, state, code, reply). */
static int
qrcpt_from_row(struct pg_store *s, const PGresult *r, int row, int col,
    struct store_qmsg *m, char **cause)
{
	struct store_qrcpt	*rc;
	const char		*state = PQgetvalue(r, row, col + 1);
	enum queue_rcpt_state	 rs;

	if (queue_rcpt_state_parse(state, &rs) != 0) {
		store_set_cause(cause, "%s: a recipient of queued message %lld "
		    "has an unknown state '%s'; the database is damaged",
		    s->shown, m->id, state);
		return STORE_ERROR;
	}
	/* Room doubles at each power of two. */
	if ((m->nrcpt & (m->nrcpt - 1)) == 0)
		m->rcpt = xreallocarray(m->rcpt, m->nrcpt ? 2 * m->nrcpt : 1,
		    sizeof *m->rcpt);
	rc = &m->rcpt[m->nrcpt++];
	rc->addr = xstrdup(PQgetvalue(r, row, col));
	rc->state = rs;
	rc->code = (int)value_number(r, row, col + 2);	/* NULL reads as 0 */
	rc->reply = value_or_null(r, row, col + 3);
	return STORE_OK;
}

int
pg_queue_add(struct store *base, struct store_qmsg *m, char **cause)
{
	struct pg_store		*s = pg_of(base);
	static const unsigned	 types[7] = { 0, 0, 0, 0, 0, 0, BYTEAOID };
	const char		*params[7], **addrs;
	int			 lens[7] = { 0 }, fmts[7] = { 0 };
	char			 b1[24], b2[24], *rcpt;
	PGresult		*r = NULL;
	size_t			 i;
	int			 status;

	if ((status = store_qmsg_check_add(s->shown, m, cause)) != STORE_OK)
		return status;
	if (m->datalen > INT_MAX) {
		store_set_cause(cause, "%s: message %s is larger than "
		    "PostgreSQL takes in one value (2 GiB)", s->shown,
		    m->message_id);
		return STORE_ERROR;
	}
	addrs = xreallocarray(NULL, m->nrcpt, sizeof *addrs);
	for (i = 0; i < m->nrcpt; i++)
		addrs[i] = m->rcpt[i].addr;
	rcpt = array_literal(addrs, m->nrcpt);
	free(addrs);
	params[0] = m->message_id;
	params[1] = m->profile;
	params[2] = m->sender;
	params[3] = pg_num(b1, (long long)m->submitted);
	params[4] = pg_num(b2, (long long)m->size);
	params[5] = rcpt;
	params[6] = m->data;
	lens[6] = (int)m->datalen;
	fmts[6] = 1;

	if ((status = pg_tx_usable(s, cause)) != STORE_OK)
		goto out;
	/* One statement: the message, its recipients, its data, the news. */
	status = pg_run_prepared(s, PP_Q_ADD, "WITH m AS (INSERT INTO queue "
	    "(message_id, profile, sender, state, attempts, held, submitted, "
	    "next_attempt, updated, size) VALUES ($1, $2, $3, 'queued', 0, "
	    "false, $4, $4, $4, $5) RETURNING id), "
	    "r AS (INSERT INTO queue_rcpt (msg, idx, addr, state) "
	    "SELECT m.id, u.i - 1, u.a, 'pending' FROM m, "
	    "unnest($6::text[]) WITH ORDINALITY AS u(a, i)), "
	    "d AS (INSERT INTO queue_data (msg, data) SELECT id, $7 FROM m) "
	    "SELECT id, pg_notify('" PG_CHANNEL_QUEUE "', $2) FROM m", 7,
	    types, params, lens, fmts, false, &r, "cannot queue a message",
	    cause);
	status = pg_tx_leave(s, false, status, cause);
	if (status == STORE_OK)
		m->id = value_number(r, 0, 0);
out:
	PQclear(r);
	free(rcpt);
	return status;
}

/*
 * Messages with their recipients, from one statement (one snapshot) that
 * joins them: rows in message order, a message's recipients in order.
 */
static int
read_messages(struct pg_store *s, const char *sql, int n,
    const char *const *params, struct store_qmsg **out, size_t *len,
    char **cause)
{
	struct store_qmsg	*v = NULL;
	PGresult		*r;
	size_t			 count = 0;
	long long		 id;
	int			 i, status;

	if ((status = pg_run(s, sql, n, params, &r, "cannot read the queue",
	    cause)) != STORE_OK)
		return status;
	for (i = 0; i < PQntuples(r); i++) {
		id = value_number(r, i, 0);
		if (count == 0 || v[count - 1].id != id) {
			if ((count & (count - 1)) == 0)
				v = xreallocarray(v, count ? 2 * count : 1,
				    sizeof *v);
			if ((status = qmsg_from_row(s, r, i, &v[count],
			    cause)) != STORE_OK)
				break;
			count++;
		}
		if (!PQgetisnull(r, i, Q_NCOLUMNS) &&
		    (status = qrcpt_from_row(s, r, i, Q_NCOLUMNS, &v[count - 1],
		    cause)) != STORE_OK)
			break;
	}
	PQclear(r);
	if (status != STORE_OK) {
		store_qmsg_free_array(v, count);
		return status;
	}
	*out = v;
	*len = count;
	return STORE_OK;
}

#define Q_WITH_RCPT	"SELECT " Q_COLUMNS ", r.addr, r.state, r.code, " \
			"r.reply FROM queue q LEFT JOIN queue_rcpt r ON " \
			"r.msg = q.id "

int
pg_queue_list(struct store *base, struct store_qmsg **out, size_t *n,
    char **cause)
{
	*out = NULL;
	*n = 0;
	return read_messages(pg_of(base), Q_WITH_RCPT "ORDER BY q.id, r.idx",
	    0, NULL, out, n, cause);
}

int
pg_queue_get(struct store *base, long long id, struct store_qmsg *out,
    char **cause)
{
	struct store_qmsg	*v = NULL;
	const char		*params[1];
	char			 buf[24];
	size_t			 n = 0;
	int			 status;

	memset(out, 0, sizeof *out);
	params[0] = pg_num(buf, id);
	status = read_messages(pg_of(base), Q_WITH_RCPT "WHERE q.id = $1 "
	    "ORDER BY r.idx", 1, params, &v, &n, cause);
	if (status != STORE_OK)
		return status;
	if (n == 0) {
		free(v);
		return STORE_NOT_FOUND;
	}
	*out = v[0];
	free(v);
	return STORE_OK;
}

int
pg_queue_due(struct store *base, time_t now, struct store_qdue **out,
    size_t *n, time_t *next, char **cause)
{
	struct pg_store		*s = pg_of(base);
	struct store_qdue	*v;
	const char		*params[1];
	char			 buf[24];
	PGresult		*r;
	size_t			 len = 0;
	int			 i, status;

	*out = NULL;
	*n = 0;
	*next = 0;
	params[0] = pg_num(buf, (long long)now);
	/* The due counts and, in a row without profile, when to look again. */
	status = pg_run(s, "SELECT p, n FROM (SELECT profile AS p, count(*) "
	    "AS n FROM queue WHERE (" Q_WAITING " AND next_attempt <= $1) OR "
	    "(state = 'sending' AND lease_until <= $1) GROUP BY profile "
	    "UNION ALL SELECT NULL, coalesce(least("
	    "(SELECT min(next_attempt) FROM queue WHERE " Q_WAITING " AND "
	    "next_attempt > $1), "
	    "(SELECT min(lease_until) FROM queue WHERE state = 'sending' AND "
	    "lease_until > $1)), 0)) x "
	    "ORDER BY p COLLATE \"C\" NULLS LAST", 1, params, &r, "cannot "
	    "read the queue", cause);
	if (status != STORE_OK)
		return status;
	v = xcalloc((size_t)PQntuples(r), sizeof *v);
	for (i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 0)) {
			*next = (time_t)value_number(r, i, 1);
			continue;
		}
		v[len].profile = xstrdup(PQgetvalue(r, i, 0));
		v[len].count = (size_t)value_number(r, i, 1);
		len++;
	}
	PQclear(r);
	*out = v;
	*n = len;
	return STORE_OK;
}

/* A bigint in binary (network order). */
static long long
binary_int8(const char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return (long long)v;
}

/*
 * The recipients and the data of the claimed messages v[0..n), one query
 * each for the whole batch.  Rows carry the message's place in ids.
 */
static int
claim_fill(struct pg_store *s, struct store_qmsg *v, size_t n, char **cause)
{
	const char	*params[1];
	char		*ids;
	PGresult	*r = NULL;
	long long	 at;
	size_t		 len;
	int		 i, status;

	params[0] = ids = id_array(v, n);
	status = pg_run_prepared(s, PP_Q_CLAIM_RCPT, "SELECT u.ord, r.addr, "
	    "r.state, r.code, r.reply FROM unnest($1::bigint[]) WITH "
	    "ORDINALITY AS u(id, ord) JOIN queue_rcpt r ON r.msg = u.id "
	    "ORDER BY u.ord, r.idx", 1, NULL, params, NULL, NULL, false, &r,
	    "cannot read the recipients", cause);
	for (i = 0; status == STORE_OK && i < PQntuples(r); i++) {
		at = value_number(r, i, 0) - 1;
		status = qrcpt_from_row(s, r, i, 1, &v[at], cause);
	}
	PQclear(r);
	r = NULL;
	if (status == STORE_OK)
		status = pg_run_prepared(s, PP_Q_CLAIM_DATA, "SELECT u.ord, "
		    "d.data FROM unnest($1::bigint[]) WITH ORDINALITY AS "
		    "u(id, ord) JOIN queue_data d ON d.msg = u.id", 1, NULL,
		    params, NULL, NULL, true, &r, "cannot read a queued "
		    "message", cause);
	for (i = 0; status == STORE_OK && i < PQntuples(r); i++) {
		at = binary_int8(PQgetvalue(r, i, 0)) - 1;
		if (at < 0 || (size_t)at >= n || PQgetlength(r, i, 0) != 8)
			continue;
		len = (size_t)PQgetlength(r, i, 1);
		v[at].data = xmalloc(len + 1);
		memcpy(v[at].data, PQgetvalue(r, i, 1), len);
		v[at].data[len] = '\0';
		v[at].datalen = len;
	}
	PQclear(r);
	free(ids);
	for (i = 0; status == STORE_OK && (size_t)i < n; i++) {
		if (v[i].data == NULL) {
			store_set_cause(cause, "%s: queued message %lld has "
			    "lost its data; the database is damaged", s->shown,
			    v[i].id);
			status = STORE_ERROR;
		}
	}
	return status;
}

int
pg_queue_claim(struct store *base, const char *profile, const char *owner,
    time_t now, time_t lease_until, size_t max, struct store_qmsg **out,
    size_t *n, char **cause)
{
	struct pg_store		*s = pg_of(base);
	struct store_qmsg	*v = NULL;
	const char		*params[5];
	char			 b1[24], b2[24], b3[24];
	PGresult		*r = NULL;
	size_t			 len = 0;
	bool			 own;
	int			 i, status;

	*out = NULL;
	*n = 0;
	if (profile == NULL || owner == NULL) {
		store_set_cause(cause, "%s: a claim needs a profile and an owner",
		    s->shown);
		return STORE_ERROR;
	}
	if (max == 0)
		return STORE_OK;
	params[0] = profile;
	params[1] = owner;
	params[2] = pg_num(b1, (long long)lease_until);
	params[3] = pg_num(b2, (long long)now);
	params[4] = pg_num(b3, max > INT64_MAX ? INT64_MAX : (long long)max);
	if ((status = pg_tx_enter(s, false, &own, cause)) != STORE_OK)
		return status;
	/*
	 * Each half reads at most $5 rows in index order, skipping rows
	 * another engine is claiming; lapsed leases are rare (an engine died).
	 */
	status = pg_run_prepared(s, PP_Q_CLAIM, "WITH p AS (SELECT id FROM ("
	    "SELECT * FROM (SELECT id, next_attempt FROM queue WHERE "
	    "profile = $1 AND " Q_WAITING " AND next_attempt <= $4 "
	    "ORDER BY next_attempt, id LIMIT $5 FOR UPDATE SKIP LOCKED) w "
	    "UNION ALL "
	    "SELECT * FROM (SELECT id, next_attempt FROM queue WHERE "
	    "profile = $1 AND " Q_LAPSED " "
	    "ORDER BY next_attempt, id LIMIT $5 FOR UPDATE SKIP LOCKED) l) x "
	    "ORDER BY next_attempt, id LIMIT $5), "
	    "c AS (UPDATE queue q SET state = 'sending', lease_owner = $2, "
	    "lease_until = $3, updated = $4, claim = nextval('queue_claim') "
	    "FROM p WHERE q.id = p.id RETURNING " Q_COLUMNS ") "
	    "SELECT * FROM c ORDER BY next_attempt, id", 5, NULL, params, NULL,
	    NULL, false, &r, "cannot claim queued messages", cause);
	if (status == STORE_OK) {
		v = xcalloc((size_t)PQntuples(r) + 1, sizeof *v);
		for (i = 0; status == STORE_OK && i < PQntuples(r); i++) {
			if ((status = qmsg_from_row(s, r, i, &v[len],
			    cause)) == STORE_OK)
				len++;
		}
	}
	PQclear(r);
	if (status == STORE_OK && len > 0)
		status = claim_fill(s, v, len, cause);
	status = pg_tx_leave(s, own, status, cause);
	if (status != STORE_OK || len == 0) {
		store_qmsg_free_array(v, len);
		return status;
	}
	*out = v;
	*n = len;
	return STORE_OK;
}

/* Why a record changed nothing: the claim is gone, or recipients are. */
static int
record_refused(struct pg_store *s, const struct store_qmsg *m,
    const char *const *params, const char *owner, char **cause)
{
	size_t	held;
	int	status;

	status = q_change(s, "SELECT 1 FROM queue WHERE id = $1 AND state = "
	    "'sending' AND lease_owner = $2 AND claim = $3", 3, params, &held,
	    "cannot record an attempt", cause);
	if (status != STORE_OK)
		return status;
	if (held > 0) {
		store_set_cause(cause, "%s: message %lld has fewer than %zu "
		    "recipients; nothing is recorded", s->shown, m->id,
		    m->nrcpt);
		return STORE_ERROR;
	}
	store_set_cause(cause, "%s: message %lld is no longer held by %s (its "
	    "lease ended or it was released); the outcome is not recorded",
	    s->shown, m->id, owner);
	return STORE_STALE;
}

int
pg_queue_record(struct store *base, const struct store_qmsg *m,
    const char *owner, time_t now, char **cause)
{
	struct pg_store		*s = pg_of(base);
	const char		*params[14], **idx, **st, **code, **reply;
	char			 b[5][24], *arrays[4], *nums;
	PGresult		*r = NULL;
	size_t			 i;
	int			 status;

	if ((status = store_qmsg_check_record(s->shown, m, owner, cause)) != 0)
		return status;
	idx = xcalloc(m->nrcpt + 1, sizeof *idx);
	st = xcalloc(m->nrcpt + 1, sizeof *st);
	code = xcalloc(m->nrcpt + 1, sizeof *code);
	reply = xcalloc(m->nrcpt + 1, sizeof *reply);
	nums = xcalloc(m->nrcpt + 1, 48);
	for (i = 0; i < m->nrcpt; i++) {
		idx[i] = pg_num(nums + 48 * i, (long long)i);
		st[i] = queue_rcpt_state_name(m->rcpt[i].state);
		if (m->rcpt[i].code != 0)
			code[i] = pg_num(nums + 48 * i + 24, m->rcpt[i].code);
		reply[i] = m->rcpt[i].reply;
	}
	arrays[0] = array_literal(idx, m->nrcpt);
	arrays[1] = array_literal(st, m->nrcpt);
	arrays[2] = array_literal(code, m->nrcpt);
	arrays[3] = array_literal(reply, m->nrcpt);
	params[0] = pg_num(b[0], m->id);
	params[1] = owner;
	params[2] = pg_num(b[1], m->claim);
	params[3] = queue_state_name(m->state);
	params[4] = pg_num(b[2], m->attempts);
	params[5] = m->held ? "true" : "false";
	params[6] = pg_num(b[3], (long long)m->next_attempt);
	params[7] = m->last_reply;
	params[8] = pg_num(b[4], (long long)now);
	for (i = 0; i < 4; i++)
		params[9 + i] = arrays[i];
	params[13] = queue_state_final(m->state) ? "true" : "false";

	if ((status = pg_tx_usable(s, cause)) != STORE_OK)
		goto out;
	/*
	 * One statement: the message while owner and token hold (and it has
	 * the recipients named), each recipient, and the data once final.
	 */
	status = pg_run_prepared(s, PP_Q_RECORD, "WITH m AS (UPDATE queue SET "
	    "state = $4, attempts = $5, held = $6, next_attempt = $7, "
	    "last_reply = $8, updated = $9, lease_owner = NULL, "
	    "lease_until = NULL, claim = NULL WHERE id = $1 AND "
	    "state = 'sending' AND lease_owner = $2 AND claim = $3 AND "
	    "(SELECT count(*) FROM queue_rcpt WHERE msg = $1) >= "
	    "cardinality($10::int[]) RETURNING id), "
	    "r AS (UPDATE queue_rcpt t SET state = u.state, code = u.code, "
	    "reply = u.reply FROM m, unnest($10::int[], $11::text[], "
	    "$12::int[], $13::text[]) AS u(idx, state, code, reply) "
	    "WHERE t.msg = m.id AND t.idx = u.idx), "
	    "d AS (DELETE FROM queue_data WHERE $14::boolean AND "
	    "msg IN (SELECT id FROM m)) "
	    "SELECT count(*) FROM m", 14, NULL, params, NULL, NULL, false, &r,
	    "cannot record an attempt", cause);
	status = pg_tx_leave(s, false, status, cause);
	if (status == STORE_OK && value_number(r, 0, 0) == 0)
		status = record_refused(s, m, params, owner, cause);
out:
	PQclear(r);
	for (i = 0; i < 4; i++)
		free(arrays[i]);
	free(idx);
	free(st);
	free(code);
	free(reply);
	free(nums);
	return status;
}

/* Runs a change of the rows owner holds; *n is how many. */
static int
by_owner(struct pg_store *s, const char *sql, const char *owner,
    const char *arg, size_t *n, const char *what, char **cause)
{
	const char	*params[2] = { owner, arg };

	if (owner == NULL) {
		if (n != NULL)
			*n = 0;
		store_set_cause(cause, "%s: %s: no owner given", s->shown, what);
		return STORE_ERROR;
	}
	return q_change(s, sql, arg != NULL ? 2 : 1, params, n, what, cause);
}

/* The columns of the messages given back, as qback_array() writes them. */
enum qback_col {
	QB_ID,
	QB_ATTEMPTS,
	QB_STATE,
	QB_HELD,
	QB_NEXT_ATTEMPT
};

/* An array literal of column col of l's messages, in order.  Caller frees. */
static char *
qback_array(const struct store_qbacks *l, enum qback_col col)
{
	/* An item is at most 20 characters (a bigint), a comma before it. */
	size_t	 size = l->n * 24 + 3, len = 1, i;
	char	*out = xmalloc(size);

	out[0] = '{';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			out[len++] = ',';
		switch (col) {
		case QB_ID:
			len += (size_t)snprintf(out + len, size - len, "%lld",
			    l->v[i].id);
			break;
		case QB_ATTEMPTS:
			len += (size_t)snprintf(out + len, size - len, "%d",
			    l->v[i].attempts);
			break;
		case QB_STATE:
			len += (size_t)snprintf(out + len, size - len, "%s",
			    queue_state_name(l->v[i].state));
			break;
		case QB_HELD:
			out[len++] = l->v[i].held ? 't' : 'f';
			break;
		case QB_NEXT_ATTEMPT:
			len += (size_t)snprintf(out + len, size - len, "%lld",
			    (long long)l->v[i].next_attempt);
			break;
		}
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

/* Adds the rows (id, attempts) sql selects to l. */
static int
qbacks_read(struct pg_store *s, const char *sql, int nparams,
    const char *const *params, struct store_qbacks *l, const char *what,
    char **cause)
{
	PGresult	*r;
	int		 i, status;

	if ((status = pg_tx_usable(s, cause)) != STORE_OK ||
	    (status = pg_run(s, sql, nparams, params, &r, what, cause)) != 0)
		return status;
	for (i = 0; i < PQntuples(r); i++)
		store_qbacks_add(l, value_number(r, i, 0),
		    (int)value_number(r, i, 1));
	PQclear(r);
	return STORE_OK;
}

/*
 * Messages are given back in two statements, outside any transaction of
 * their own: the rows are read, core decides (store_qbacks_release() or
 * store_qbacks_hold()), and one UPDATE writes the decisions by id.  A row
 * may change in between (another engine claims it, its owner records it),
 * so the UPDATE asks again what the read asked, and that the attempts are
 * still those the decision rests on: a row that changed is left as it is,
 * and not counted.
 */
int
pg_queue_release(struct store *base, const char *owner, size_t *n,
    char **cause)
{
	static const char	 what[] = "cannot release queued messages";
	struct pg_store		*s = pg_of(base);
	struct store_qbacks	 l = { 0 };
	const char		*params[4];
	char			*arrays[3] = { NULL, NULL, NULL };
	int			 i, status;

	if (n != NULL)
		*n = 0;
	if (owner == NULL) {
		store_set_cause(cause, "%s: %s: no owner given", s->shown, what);
		return STORE_ERROR;
	}
	params[0] = owner;
	status = qbacks_read(s, "SELECT id, attempts FROM queue WHERE "
	    "state = 'sending' AND lease_owner = $1", 1, params, &l, what,
	    cause);
	if (status != STORE_OK || l.n == 0)
		goto out;
	store_qbacks_release(&l);
	for (i = 0; i < 3; i++)
		params[1 + i] = arrays[i] = qback_array(&l, (enum qback_col)i);
	status = q_change(s, "UPDATE queue q SET state = u.state, "
	    "lease_owner = NULL, lease_until = NULL, claim = NULL "
	    "FROM unnest($2::bigint[], $3::int[], $4::text[]) "
	    "AS u(id, attempts, state) "
	    "WHERE q.id = u.id AND q.attempts = u.attempts AND "
	    "q.state = 'sending' AND q.lease_owner = $1", 4, params, n, what,
	    cause);
out:
	for (i = 0; i < 3; i++)
		free(arrays[i]);
	store_qbacks_free(&l);
	return status;
}

int
pg_queue_renew(struct store *base, const char *owner, time_t lease_until,
    char **cause)
{
	char	buf[24];

	return by_owner(pg_of(base), "UPDATE queue SET lease_until = $2 "
	    "WHERE state = 'sending' AND lease_owner = $1", owner,
	    pg_num(buf, (long long)lease_until), NULL, "cannot renew a lease",
	    cause);
}

/*
 * The owners of sending messages are read, asked alive() outside any
 * transaction, and a dead owner's messages released, as in SQLite: one
 * recovery path for the runner.  No pid is judged across hosts: gwengine's
 * alive() decides only owners of its own host (their boot id, pid and
 * start time) and takes any other host's owner for alive, whose messages
 * then wait for their lease to end (store_queue_due() and
 * store_queue_claim() count an ended lease as due).
 */
int
pg_queue_recover(struct store *base,
    bool (*alive)(const char *owner, void *arg), void *arg, size_t *n,
    char **cause)
{
	struct pg_store	*s = pg_of(base);
	PGresult	*r = NULL;
	size_t		 freed = 0, k;
	int		 i, status;

	if (n != NULL)
		*n = 0;
	status = pg_run(s, "SELECT DISTINCT lease_owner FROM queue WHERE "
	    "state = 'sending' AND lease_owner IS NOT NULL", 0, NULL, &r,
	    "cannot read the queue", cause);
	if (status != STORE_OK)
		return status;
	for (i = 0; i < PQntuples(r) && status == STORE_OK; i++) {
		if (alive(PQgetvalue(r, i, 0), arg))
			continue;
		status = pg_queue_release(base, PQgetvalue(r, i, 0), &k,
		    cause);
		freed += k;
	}
	PQclear(r);
	if (n != NULL)
		*n = freed;
	return status;
}

int
pg_queue_hold(struct store *base, const char *profile, const char *reason,
    time_t now, time_t until, size_t *n, char **cause)
{
	static const char	 what[] = "cannot hold queued messages";
	struct pg_store		*s = pg_of(base);
	struct store_qbacks	 l = { 0 };
	const char		*params[8];
	char			 buf[24], *arrays[5] = { NULL };
	int			 i, status;

	if (n != NULL)
		*n = 0;
	if (profile == NULL) {
		store_set_cause(cause, "%s: no profile given to hold", s->shown);
		return STORE_ERROR;
	}
	params[0] = profile;
	params[1] = pg_num(buf, (long long)now);
	/*
	 * Messages under a lease that ended are due too: left out, they
	 * would stay due and the engine would find them again at once.
	 */
	status = qbacks_read(s, "SELECT id, attempts FROM queue WHERE "
	    "profile = $1 AND ((" Q_WAITING " AND next_attempt <= $2) OR "
	    "(state = 'sending' AND lease_until <= $2))", 2, params, &l, what,
	    cause);
	if (status != STORE_OK || l.n == 0)
		goto out;
	store_qbacks_hold(&l, until);
	params[1] = reason;
	params[2] = buf;
	for (i = 0; i < 5; i++)
		params[3 + i] = arrays[i] = qback_array(&l, (enum qback_col)i);
	status = q_change(s, "UPDATE queue q SET state = u.state, "
	    "held = u.held, next_attempt = u.next_attempt, last_reply = $2, "
	    "updated = $3, lease_owner = NULL, lease_until = NULL, "
	    "claim = NULL FROM unnest($4::bigint[], $5::int[], $6::text[], "
	    "$7::boolean[], $8::bigint[]) "
	    "AS u(id, attempts, state, held, next_attempt) "
	    "WHERE q.id = u.id AND q.attempts = u.attempts AND "
	    "q.profile = $1 AND ((q.state IN ('queued', 'deferred') AND "
	    "q.next_attempt <= $3) OR (q.state = 'sending' AND "
	    "q.lease_until <= $3))", 8, params, n, what, cause);
out:
	for (i = 0; i < 5; i++)
		free(arrays[i]);
	store_qbacks_free(&l);
	return status;
}

int
pg_queue_wake_held(struct store *base, time_t now, char **cause)
{
	const char	*params[1];
	char		 buf[24];

	params[0] = pg_num(buf, (long long)now);
	return q_change(pg_of(base), "WITH w AS (UPDATE queue SET held = "
	    "false, next_attempt = least(next_attempt, $1), updated = $1 "
	    "WHERE held AND " Q_WAITING " RETURNING 1) "
	    "SELECT pg_notify('" PG_CHANNEL_QUEUE "', '') "
	    "WHERE EXISTS (SELECT 1 FROM w)", 1, params, NULL,
	    "cannot wake held messages", cause);
}

int
pg_queue_purge(struct store *base, time_t before, size_t *n, char **cause)
{
	const char	*params[1];
	char		 buf[24];

	params[0] = pg_num(buf, (long long)before);
	/* Recipients and data go with their message (ON DELETE CASCADE). */
	return q_change(pg_of(base), "DELETE FROM queue WHERE state IN "
	    "('sent', 'failed') AND updated < $1", 1, params, n,
	    "cannot purge the queue", cause);
}

/* The result's bytes are wiped before it is freed: PQclear() does not. */
int
pg_queue_body(struct store *base, struct store_qmsg *m, char **cause)
{
	struct pg_store	*s = pg_of(base);
	const char	*params[1];
	char		 buf[24];
	PGresult	*r;
	size_t		 len;
	int		 status;

	m->data = NULL;
	m->datalen = 0;
	params[0] = pg_num(buf, m->id);
	status = pg_run_prepared(s, PP_Q_BODY, "SELECT data FROM queue_data "
	    "WHERE msg = $1", 1, NULL, params, NULL, NULL, true, &r, "cannot "
	    "read a queued message", cause);
	if (status != STORE_OK)
		return status;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return STORE_NOT_FOUND;
	}
	len = (size_t)PQgetlength(r, 0, 0);
	m->data = xmalloc(len + 1);
	memcpy(m->data, PQgetvalue(r, 0, 0), len);
	m->data[len] = '\0';
	m->datalen = len;
	explicit_bzero(PQgetvalue(r, 0, 0), len);
	PQclear(r);
	return STORE_OK;
}

/*
 * Item k of recipient r in pg_queue_restore()'s arrays: its address,
 * state, code (written in buf; NULL for none) or reply.
 */
static const char *
rcpt_item(const struct store_qrcpt *r, size_t k, char *buf)
{
	switch (k) {
	case 0:
		return r->addr;
	case 1:
		return queue_rcpt_state_name(r->state);
	case 2:
		return r->code != 0 ? pg_num(buf, r->code) : NULL;
	default:
		return r->reply;
	}
}

/*
 * One statement, as store_queue_add()'s: the message with its id
 * (OVERRIDING SYSTEM VALUE), its recipients, its data if any, the
 * identity's sequence moved past the id (setval(), which a rollback does
 * not undo: later ids then skip some numbers), and the news for engines.
 */
int
pg_queue_restore(struct store *base, const struct store_qmsg *m,
    char **cause)
{
	struct pg_store		*s = pg_of(base);
	static const unsigned	 types[17] = { [16] = BYTEAOID };
	const char		*params[17], **items;
	int			 lens[17] = { 0 }, fmts[17] = { 0 };
	char			 b[6][24], *arrays[4], *codes;
	PGresult		*r = NULL;
	size_t			 i, k;
	int			 status;

	if ((status = store_qmsg_check_restore(s->shown, m, cause)) != 0)
		return status;
	if (m->datalen > INT_MAX) {
		store_set_cause(cause, "%s: message %lld is larger than "
		    "PostgreSQL takes in one value (2 GiB)", s->shown, m->id);
		return STORE_ERROR;
	}
	items = xcalloc(m->nrcpt + 1, sizeof *items);
	codes = xcalloc(m->nrcpt + 1, 24);
	for (k = 0; k < 4; k++) {
		for (i = 0; i < m->nrcpt; i++)
			items[i] = rcpt_item(&m->rcpt[i], k, codes + 24 * i);
		arrays[k] = array_literal(items, m->nrcpt);
	}
	params[0] = pg_num(b[0], m->id);
	params[1] = m->message_id;
	params[2] = m->profile;
	params[3] = m->sender;
	params[4] = queue_state_name(m->state);
	params[5] = pg_num(b[1], m->attempts);
	params[6] = m->held ? "true" : "false";
	params[7] = pg_num(b[2], (long long)m->submitted);
	params[8] = pg_num(b[3], (long long)m->next_attempt);
	params[9] = pg_num(b[4], (long long)m->updated);
	params[10] = m->last_reply;
	params[11] = pg_num(b[5], (long long)m->size);
	for (k = 0; k < 4; k++)
		params[12 + k] = arrays[k];
	params[16] = m->data;
	lens[16] = (int)m->datalen;
	fmts[16] = 1;

	if ((status = pg_tx_usable(s, cause)) != STORE_OK)
		goto out;
	status = pg_run_prepared(s, PP_Q_RESTORE, "WITH m AS (INSERT INTO "
	    "queue (id, message_id, profile, sender, state, attempts, held, "
	    "submitted, next_attempt, updated, last_reply, size) "
	    "OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
	    "$9, $10, $11, $12) RETURNING id), "
	    "r AS (INSERT INTO queue_rcpt (msg, idx, addr, state, code, reply) "
	    "SELECT m.id, u.i - 1, u.addr, u.state, u.code, u.reply FROM m, "
	    "unnest($13::text[], $14::text[], $15::int[], $16::text[]) WITH "
	    "ORDINALITY AS u(addr, state, code, reply, i)), "
	    "d AS (INSERT INTO queue_data (msg, data) SELECT id, $17 FROM m "
	    "WHERE $17 IS NOT NULL) "
	    "SELECT setval(pg_get_serial_sequence('queue', 'id'), "
	    "greatest(m.id, (SELECT coalesce(max(id), 0) FROM queue))), "
	    "pg_notify('" PG_CHANNEL_QUEUE "', $3) FROM m", 17, types, params,
	    lens, fmts, false, &r, "cannot copy a message", cause);
	status = pg_tx_leave(s, false, status, cause);
out:
	PQclear(r);
	for (k = 0; k < 4; k++)
		free(arrays[k]);
	free(items);
	free(codes);
	return status;
}
