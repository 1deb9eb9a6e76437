/*
 * store/pg_int.h: the PostgreSQL backend's private interface, shared by
 * store/pg_db.c (connection, transactions, schema, errors), store/pg_uri.c
 * (the URI rules), store/pg_config.c (profiles, settings, audit) and
 * store/pg_queue.c (the queue).  Only these files include libpq-fe.h.
 */
#ifndef GWSMTP_STORE_PG_INT_H
#define GWSMTP_STORE_PG_INT_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "store/backend.h"

/* Statements prepared once per connection (PQprepare), on first use. */
enum pg_prep {
	PP_PROFILE_GET,
	PP_AUDIT,
	PP_Q_ADD,
	PP_Q_CLAIM,
	PP_Q_CLAIM_RCPT,
	PP_Q_CLAIM_DATA,
	PP_Q_RECORD,
	PP_Q_RENEW,
	PP_Q_BODY,
	PP_Q_RESTORE,
	PP_COUNT
};

/* NOTIFY channels: every configuration commit, every queued message. */
#define PG_CHANNEL_CONFIG	"gwsmtp_config"
#define PG_CHANNEL_QUEUE	"gwsmtp_queue"

struct pg_store {
	struct store	 base;		/* first: a struct store * casts */
	PGconn		*conn;
	char		*shown;		/* the URI without its password */
	char		*program;
	char		*os_user;
	int		 backend_pid;	/* our own NOTIFYs are not news */

	bool		 in_tx;		/* store_begin() is open */
	bool		 own_tx;	/* a change's own transaction is open */
	bool		 tx_failed;	/* a change in it failed */
	bool		 tx_locked;	/* it holds the configuration lock */
	bool		 missed;	/* reconnected: notifications lost */
	bool		 prepared[PP_COUNT];

	/* Profile statements, generated from the profile keys. */
	char		*sql_get;
	char		*sql_list;
	char		*sql_insert;
	char		*sql_update;

	bool		 in_read;	/* the open one: store_begin_read() */
};

static inline struct pg_store *
pg_of(struct store *s)
{
	return (struct pg_store *)s;
}

/*
 * The rules a URI must pass before anything connects (pure: no network):
 * it parses, and every TCP host it would reach that is not loopback
 * (localhost, 127.0.0.0/8, ::1) is reached with sslmode require or
 * stronger.  PGHOST, PGHOSTADDR and PGSSLMODE count where the URI is
 * silent, as libpq would use them.  STORE_OK; STORE_BADFILE for a URI
 * libpq cannot parse; STORE_PERM for one that would send the password in
 * clear (like a SQLite file others could read).  *cause never holds the
 * password.
 */
int	 pg_uri_check(const char *uri, char **cause);
/* The URI with any password removed, for messages.  Caller frees. */
char	*pg_uri_shown(const char *uri);
/* The connection's socket, readable when a notification may wait. */
int	 pg_store_socket(struct store *s);

/*
 * Turns a failed result (or, with res NULL, the connection's error) into a
 * status and *cause naming the database and what was being done.
 */
int	 pg_fail(struct pg_store *s, const PGresult *res, const char *what,
	     char **cause);
/*
 * Runs sql with text parameters (NULL for SQL NULL).  STORE_OK with *res
 * (caller PQclear()s) when the result has rows or none; otherwise a status.
 * res may be NULL for a statement whose result is not needed.
 */
int	 pg_run(struct pg_store *s, const char *sql, int n,
	     const char *const *params, PGresult **res, const char *what,
	     char **cause);
/*
 * The same for a statement prepared once per connection under id; lens and
 * fmts (may be NULL) give binary parameters, binary asks for binary
 * results.  types (may be NULL) are the parameters' type OIDs.
 */
int	 pg_run_prepared(struct pg_store *s, enum pg_prep id, const char *sql,
	     int n, const unsigned int *types, const char *const *params,
	     const int *lens, const int *fmts, bool binary, PGresult **res,
	     const char *what, char **cause);
/* The number of rows a command changed (PQcmdTuples). */
long long pg_changes(const PGresult *res);

/*
 * A change runs in store_begin()'s transaction or in one of its own
 * (*own).  config: it changes the configuration, so it takes the
 * configuration lock first (held to the end of the transaction), which
 * orders configuration writers as SQLite's write lock does.  pg_tx_leave()
 * commits or rolls back an own transaction, or marks store_begin()'s
 * failed when the change failed.
 */
int	 pg_tx_enter(struct pg_store *s, bool config, bool *own, char **cause);
/*
 * For a change of one statement, atomic alone: STORE_ERROR when
 * store_begin()'s transaction already failed.  Follow the statement with
 * pg_tx_leave(s, false, status, cause).
 */
int	 pg_tx_usable(struct pg_store *s, char **cause);
int	 pg_tx_leave(struct pg_store *s, bool own, int status, char **cause);

/* A number as text for a parameter: buf holds at least 24 bytes. */
const char *pg_num(char *buf, long long v);

/* Called by pg_store_open(): builds the profile statements. */
void	 pg_config_init(struct pg_store *s);

/* store/pg_config.c */
int	 pg_profile_get(struct store *, const char *, struct profile **,
	     char **);
int	 pg_profile_list(struct store *, struct profile ***, size_t *,
	     char **);
int	 pg_profile_count(struct store *, size_t *, char **);
int	 pg_profile_names(struct store *, size_t, size_t, char ***, size_t *,
	     char **);
int	 pg_profile_put(struct store *, struct profile *, bool *, char **);
int	 pg_profile_delete(struct store *, const char *, char **);
int	 pg_settings_get(struct store *, struct smtp_settings *, char **);
int	 pg_settings_put(struct store *, const struct smtp_settings *,
	     char **);
int	 pg_audit_foreach(struct store *,
	     int (*)(const struct store_audit *, void *), void *, char **);
int	 pg_config_generation(struct store *, long long *, char **);

/* store/pg_queue.c */
int	 pg_queue_add(struct store *, struct store_qmsg *, char **);
int	 pg_queue_list(struct store *, struct store_qmsg **, size_t *,
	     char **);
int	 pg_queue_get(struct store *, long long, struct store_qmsg *, char **);
int	 pg_queue_due(struct store *, time_t, struct store_qdue **, size_t *,
	     time_t *, char **);
int	 pg_queue_claim(struct store *, const char *, const char *, time_t,
	     time_t, size_t, struct store_qmsg **, size_t *, char **);
int	 pg_queue_record(struct store *, const struct store_qmsg *,
	     const char *, time_t, char **);
int	 pg_queue_release(struct store *, const char *, size_t *, char **);
int	 pg_queue_renew(struct store *, const char *, time_t, char **);
int	 pg_queue_recover(struct store *, bool (*)(const char *, void *),
	     void *, size_t *, char **);
int	 pg_queue_hold(struct store *, const char *, const char *, time_t,
	     time_t, size_t *, char **);
int	 pg_queue_wake_held(struct store *, time_t, char **);
int	 pg_queue_purge(struct store *, time_t, size_t *, char **);

/*
 * Copying a whole store (store/store.h): pg_db.c's, then pg_config.c's,
 * then pg_queue.c's.
 */
int	 pg_begin_read(struct store *, char **);
int	 pg_counts(struct store *, struct store_counts *, char **);
const char *pg_shown(struct store *);
int	 pg_profile_restore(struct store *, const struct profile *, char **);
int	 pg_settings_restore(struct store *, const struct smtp_settings *,
	     char **);
int	 pg_audit_restore(struct store *, const struct store_audit *,
	     char **);
int	 pg_queue_body(struct store *, struct store_qmsg *, char **);
int	 pg_queue_restore(struct store *, const struct store_qmsg *, char **);

#endif
