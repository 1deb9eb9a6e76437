/*
 * store/sqlite_int.h: the SQLite backend's private interface, shared by
 * store/sqlite_db.c (the connection, transactions, schema, errors),
 * store/sqlite_config.c (profiles, settings, audit) and
 * store/sqlite_queue.c (the queue).  Only these files include sqlite3.h.
 */
#ifndef GWSMTP_STORE_SQLITE_INT_H
#define GWSMTP_STORE_SQLITE_INT_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store/backend.h"

/* One connection.  Not thread-safe: it serves one thread at a time. */
struct sqlite_store {
	struct store	  base;		/* first, so that each op casts */
	sqlite3		 *db;
	char		 *path;
	char		 *program;
	char		 *os_user;
	long long	  data_version;
	int		  inotify;	/* store_notify_fd(), or -1 */

	bool		  in_tx;	/* store_begin() is open */
	bool		  tx_failed;	/* a change in it failed half-way */
	bool		  tx_wipe;	/* a secret was removed: checkpoint */

	/* Hot paths, prepared once (SQLITE_PREPARE_PERSISTENT). */
	sqlite3_stmt	 *st_data_version;
	sqlite3_stmt	 *st_get;	/* sqlite_config.c's */
	sqlite3_stmt	 *st_list;
	sqlite3_stmt	 *st_insert;
	sqlite3_stmt	 *st_update;
	sqlite3_stmt	 *st_audit;
	sqlite3_stmt	 *st_generation;
	sqlite3_stmt	**st_q;		/* sqlite_queue.c's, by its enum */
};

/* store/sqlite_db.c: SQLite calls and their errors. */
int	 db_fail(struct sqlite_store *s, int rc, const char *what,
	     char **cause);
int	 db_exec(struct sqlite_store *s, const char *sql, const char *what,
	     char **cause);
int	 db_prepare(struct sqlite_store *s, const char *sql,
	     unsigned int flags, sqlite3_stmt **st, char **cause);
int	 db_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
	     char **cause);
int	 db_int(struct sqlite_store *s, const char *sql, long long *out,
	     char **cause);

/*
 * store/sqlite_db.c: a change runs in store_begin()'s transaction or in
 * one of its own (*own); a read of several statements in one snapshot.
 */
int	 tx_enter(struct sqlite_store *s, bool *own, char **cause);
int	 tx_leave(struct sqlite_store *s, bool own, int status,
	     char **cause);
int	 rd_enter(struct sqlite_store *s, bool *own, char **cause);
void	 rd_leave(struct sqlite_store *s, bool own);

/* store/sqlite_db.c */
void	 sqlite_close(struct store *s);
int	 sqlite_begin(struct store *s, char **cause);
int	 sqlite_commit(struct store *s, char **cause);
void	 sqlite_rollback(struct store *s);
int	 sqlite_changed(struct store *s, bool *changed, char **cause);

/*
 * store/sqlite_config.c.  sqlite_config_prepare() and
 * sqlite_queue_prepare() prepare their statements at open; their
 * _finalize() frees them (also after a prepare that failed half-way).
 */
int	 sqlite_config_prepare(struct sqlite_store *s, char **cause);
void	 sqlite_config_finalize(struct sqlite_store *s);
int	 sqlite_profile_get(struct store *s, const char *name,
	     struct profile **out, char **cause);
int	 sqlite_profile_list(struct store *s, struct profile ***out,
	     size_t *n, char **cause);
int	 sqlite_profile_count(struct store *s, size_t *n, char **cause);
int	 sqlite_profile_names(struct store *s, size_t offset, size_t limit,
	     char ***out, size_t *n, char **cause);
int	 sqlite_profile_put(struct store *s, struct profile *p,
	     bool *changed, char **cause);
int	 sqlite_profile_delete(struct store *s, const char *name,
	     char **cause);
int	 sqlite_settings_get(struct store *s, struct smtp_settings *out,
	     char **cause);
int	 sqlite_settings_put(struct store *s, const struct smtp_settings *in,
	     char **cause);
int	 sqlite_audit_foreach(struct store *s,
	     int (*fn)(const struct store_audit *row, void *arg), void *arg,
	     char **cause);
int	 sqlite_config_generation(struct store *s, long long *gen,
	     char **cause);

/* store/sqlite_queue.c */
int	 sqlite_queue_prepare(struct sqlite_store *s, char **cause);
void	 sqlite_queue_finalize(struct sqlite_store *s);
int	 sqlite_queue_add(struct store *s, struct store_qmsg *m,
	     char **cause);
int	 sqlite_queue_list(struct store *s, struct store_qmsg **out,
	     size_t *n, char **cause);
int	 sqlite_queue_get(struct store *s, long long id,
	     struct store_qmsg *out, char **cause);
int	 sqlite_queue_due(struct store *s, time_t now,
	     struct store_qdue **out, size_t *n, time_t *next, char **cause);
int	 sqlite_queue_claim(struct store *s, const char *profile,
	     const char *owner, time_t now, time_t lease_until, size_t max,
	     struct store_qmsg **out, size_t *n, char **cause);
int	 sqlite_queue_record(struct store *s, const struct store_qmsg *m,
	     const char *owner, time_t now, char **cause);
int	 sqlite_queue_release(struct store *s, const char *owner, size_t *n,
	     char **cause);
int	 sqlite_queue_renew(struct store *s, const char *owner,
	     time_t lease_until, char **cause);
int	 sqlite_queue_recover(struct store *s,
	     bool (*alive)(const char *owner, void *arg), void *arg,
	     size_t *n, char **cause);
int	 sqlite_queue_hold(struct store *s, const char *profile,
	     const char *reason, time_t now, time_t until, size_t *n,
	     char **cause);
int	 sqlite_queue_wake_held(struct store *s, time_t now, char **cause);
int	 sqlite_queue_purge(struct store *s, time_t before, size_t *n,
	     char **cause);

/*
 * Copying a whole store (store/store.h): sqlite_db.c's, then
 * sqlite_config.c's, then sqlite_queue.c's.
 */
int	 sqlite_begin_read(struct store *s, char **cause);
int	 sqlite_counts(struct store *s, struct store_counts *out,
	     char **cause);
const char *sqlite_shown(struct store *s);
int	 sqlite_profile_restore(struct store *s, const struct profile *p,
	     char **cause);
int	 sqlite_settings_restore(struct store *s,
	     const struct smtp_settings *in, char **cause);
int	 sqlite_audit_restore(struct store *s, const struct store_audit *row,
	     char **cause);
int	 sqlite_queue_body(struct store *s, struct store_qmsg *m,
	     char **cause);
int	 sqlite_queue_restore(struct store *s, const struct store_qmsg *m,
	     char **cause);

#endif
