/*
 * store/backend.h: what a store backend implements.  Private to store/:
 * store/store.c picks the backend by the database argument (a libpq URI,
 * postgresql:// or postgres://, is PostgreSQL; anything else a SQLite
 * path) and hands every call of store/store.h to its table.
 *
 * A backend's own struct begins with a struct store, so a backend casts
 * the struct store * it is given to its own type.  Each function has the
 * contract written for its store_ namesake in store/store.h; the table
 * adds nothing to it, and store.c checks nothing a backend must check.
 */
#ifndef GWSMTP_STORE_BACKEND_H
#define GWSMTP_STORE_BACKEND_H

#include <sys/types.h>

#include "store/store.h"

struct store_ops {
	const char	*name;		/* "SQLite", "PostgreSQL" */

	void	(*close)(struct store *s);
	int	(*begin)(struct store *s, char **cause);
	int	(*commit)(struct store *s, char **cause);
	void	(*rollback)(struct store *s);

	int	(*profile_get)(struct store *s, const char *name,
		    struct profile **out, char **cause);
	int	(*profile_list)(struct store *s, struct profile ***out,
		    size_t *n, char **cause);
	int	(*profile_count)(struct store *s, size_t *n, char **cause);
	int	(*profile_names)(struct store *s, size_t offset, size_t limit,
		    char ***out, size_t *n, char **cause);
	int	(*profile_put)(struct store *s, struct profile *p,
		    bool *changed, char **cause);
	int	(*profile_delete)(struct store *s, const char *name,
		    char **cause);
	int	(*settings_get)(struct store *s, struct smtp_settings *out,
		    char **cause);
	int	(*settings_put)(struct store *s,
		    const struct smtp_settings *in, char **cause);
	int	(*changed)(struct store *s, bool *changed, char **cause);
	int	(*notify_fd)(struct store *s, char **cause);
	int	(*audit_foreach)(struct store *s,
		    int (*fn)(const struct store_audit *row, void *arg),
		    void *arg, char **cause);
	int	(*config_generation)(struct store *s, long long *gen,
		    char **cause);

	int	(*queue_add)(struct store *s, struct store_qmsg *m,
		    char **cause);
	int	(*queue_list)(struct store *s, struct store_qmsg **out,
		    size_t *n, char **cause);
	int	(*queue_get)(struct store *s, long long id,
		    struct store_qmsg *out, char **cause);
	int	(*queue_due)(struct store *s, time_t now,
		    struct store_qdue **out, size_t *n, time_t *next,
		    char **cause);
	int	(*queue_claim)(struct store *s, const char *profile,
		    const char *owner, time_t now, time_t lease_until,
		    size_t max, struct store_qmsg **out, size_t *n,
		    char **cause);
	int	(*queue_record)(struct store *s, const struct store_qmsg *m,
		    const char *owner, time_t now, char **cause);
	int	(*queue_release)(struct store *s, const char *owner,
		    size_t *n, char **cause);
	int	(*queue_renew)(struct store *s, const char *owner,
		    time_t lease_until, char **cause);
	int	(*queue_recover)(struct store *s,
		    bool (*alive)(const char *owner, void *arg), void *arg,
		    size_t *n, char **cause);
	int	(*queue_hold)(struct store *s, const char *profile,
		    const char *reason, time_t now, time_t until, size_t *n,
		    char **cause);
	int	(*queue_wake_held)(struct store *s, time_t now, char **cause);
	int	(*queue_purge)(struct store *s, time_t before, size_t *n,
		    char **cause);

	/* Copying a whole store. */
	int	(*begin_read)(struct store *s, char **cause);
	int	(*counts)(struct store *s, struct store_counts *out,
		    char **cause);
	const char *(*shown)(struct store *s);
	int	(*profile_restore)(struct store *s, const struct profile *p,
		    char **cause);
	int	(*settings_restore)(struct store *s,
		    const struct smtp_settings *in, char **cause);
	int	(*audit_restore)(struct store *s,
		    const struct store_audit *row, char **cause);
	int	(*queue_body)(struct store *s, struct store_qmsg *m,
		    char **cause);
	int	(*queue_restore)(struct store *s, const struct store_qmsg *m,
		    char **cause);
};

/* The head of every backend's own struct. */
struct store {
	const struct store_ops	*ops;
};

/* The backends' store_open(): path a SQLite path, uri a libpq URI. */
int	 sqlite_store_open(const char *path, const char *program,
	     struct store **out, char **cause);
int	 pg_store_open(const char *uri, const char *program,
	     struct store **out, char **cause);

/*
 * Shared by the backends (store/store.c): sets *cause, unless cause is
 * NULL, to the formatted message.
 */
void	 store_set_cause(char **cause, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* The name of user uid, or its number.  Caller frees. */
char	*store_user_name(uid_t uid);

#endif
