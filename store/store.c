/*
 * store/store.c: store/store.h's front: picks the backend by the database
 * argument and hands every call to its table (store/backend.h).
 *
 * A libpq URI (postgresql:// or postgres://) is PostgreSQL, anything else
 * a SQLite path.  Beside the dispatch it holds only what is the same for
 * every backend: freeing queued messages, and the backends' helpers for
 * messages and the OS user's name.  It holds no rule of the store: each
 * backend keeps the contract of store/store.h itself, so this file checks
 * nothing and adds nothing.
 */
#include "store/backend.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

void
store_set_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
}

char *
store_user_name(uid_t uid)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL && pw->pw_name != NULL)
		return xstrdup(pw->pw_name);
	return xasprintf("%lu", (unsigned long)uid);
}

/* Whether db is a libpq connection URI (SPEC section 4a). */
static bool
is_pg_uri(const char *db)
{
	return strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0;
}

int
store_open(const char *path, const char *program, struct store **out,
    char **cause)
{
	if (path != NULL && is_pg_uri(path)) {
#ifdef GWSMTP_HAVE_PG
		return pg_store_open(path, program, out, cause);
#else
		/* Not the URI: it may hold a password. */
		*out = NULL;
		store_set_cause(cause, "this gwsmtp was built without "
		    "PostgreSQL support; give the path of an SQLite database "
		    "instead");
		return STORE_BADFILE;
#endif
	}
	return sqlite_store_open(path, program, out, cause);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int
store_begin(struct store *s, char **cause)
{
	return s->ops->begin(s, cause);
}

int
store_commit(struct store *s, char **cause)
{
	return s->ops->commit(s, cause);
}

void
store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

int
store_profile_get(struct store *s, const char *name, struct profile **out,
    char **cause)
{
	return s->ops->profile_get(s, name, out, cause);
}

int
store_profile_list(struct store *s, struct profile ***out, size_t *n,
    char **cause)
{
	return s->ops->profile_list(s, out, n, cause);
}

int
store_profile_count(struct store *s, size_t *n, char **cause)
{
	return s->ops->profile_count(s, n, cause);
}

int
store_profile_names(struct store *s, size_t offset, size_t limit,
    char ***out, size_t *n, char **cause)
{
	return s->ops->profile_names(s, offset, limit, out, n, cause);
}

int
store_profile_put(struct store *s, struct profile *p, bool *changed,
    char **cause)
{
	return s->ops->profile_put(s, p, changed, cause);
}

int
store_profile_delete(struct store *s, const char *name, char **cause)
{
	return s->ops->profile_delete(s, name, cause);
}

int
store_settings_get(struct store *s, struct smtp_settings *out, char **cause)
{
	return s->ops->settings_get(s, out, cause);
}

int
store_settings_put(struct store *s, const struct smtp_settings *in,
    char **cause)
{
	return s->ops->settings_put(s, in, cause);
}

int
store_changed(struct store *s, bool *changed, char **cause)
{
	return s->ops->changed(s, changed, cause);
}

int
store_notify_fd(struct store *s, char **cause)
{
	return s->ops->notify_fd(s, cause);
}

int
store_audit_foreach(struct store *s,
    int (*fn)(const struct store_audit *row, void *arg), void *arg,
    char **cause)
{
	return s->ops->audit_foreach(s, fn, arg, cause);
}

int
store_config_generation(struct store *s, long long *gen, char **cause)
{
	return s->ops->config_generation(s, gen, cause);
}

void
store_qmsg_clear(struct store_qmsg *m)
{
	size_t	i;

	if (m == NULL)
		return;
	free(m->message_id);
	free(m->profile);
	free(m->sender);
	free(m->last_reply);
	for (i = 0; i < m->nrcpt; i++) {
		free(m->rcpt[i].addr);
		free(m->rcpt[i].reply);
	}
	free(m->rcpt);
	free(m->data);
	memset(m, 0, sizeof *m);
}

void
store_qmsg_free_array(struct store_qmsg *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_qmsg_clear(&v[i]);
	free(v);
}

int
store_queue_add(struct store *s, struct store_qmsg *m, char **cause)
{
	return s->ops->queue_add(s, m, cause);
}

int
store_queue_list(struct store *s, struct store_qmsg **out, size_t *n,
    char **cause)
{
	return s->ops->queue_list(s, out, n, cause);
}

int
store_queue_get(struct store *s, long long id, struct store_qmsg *out,
    char **cause)
{
	return s->ops->queue_get(s, id, out, cause);
}

int
store_queue_due(struct store *s, time_t now, struct store_qdue **out,
    size_t *n, time_t *next, char **cause)
{
	return s->ops->queue_due(s, now, out, n, next, cause);
}

int
store_queue_claim(struct store *s, const char *profile, const char *owner,
    time_t now, time_t lease_until, size_t max, struct store_qmsg **out,
    size_t *n, char **cause)
{
	return s->ops->queue_claim(s, profile, owner, now, lease_until, max,
	    out, n, cause);
}

int
store_queue_record(struct store *s, const struct store_qmsg *m,
    const char *owner, time_t now, char **cause)
{
	return s->ops->queue_record(s, m, owner, now, cause);
}

int
store_queue_release(struct store *s, const char *owner, size_t *n,
    char **cause)
{
	return s->ops->queue_release(s, owner, n, cause);
}

int
store_queue_renew(struct store *s, const char *owner, time_t lease_until,
    char **cause)
{
	return s->ops->queue_renew(s, owner, lease_until, cause);
}

int
store_queue_recover(struct store *s,
    bool (*alive)(const char *owner, void *arg), void *arg, size_t *n,
    char **cause)
{
	return s->ops->queue_recover(s, alive, arg, n, cause);
}

int
store_queue_hold(struct store *s, const char *profile, const char *reason,
    time_t now, time_t until, size_t *n, char **cause)
{
	return s->ops->queue_hold(s, profile, reason, now, until, n, cause);
}

int
store_queue_wake_held(struct store *s, time_t now, char **cause)
{
	return s->ops->queue_wake_held(s, now, cause);
}

int
store_queue_purge(struct store *s, time_t before, size_t *n, char **cause)
{
	return s->ops->queue_purge(s, before, n, cause);
}

int
store_begin_read(struct store *s, char **cause)
{
	return s->ops->begin_read(s, cause);
}

int
store_counts(struct store *s, struct store_counts *out, char **cause)
{
	return s->ops->counts(s, out, cause);
}

const char *
store_shown(struct store *s)
{
	return s->ops->shown(s);
}

int
store_profile_restore(struct store *s, const struct profile *p, char **cause)
{
	return s->ops->profile_restore(s, p, cause);
}

int
store_settings_restore(struct store *s, const struct smtp_settings *in,
    char **cause)
{
	return s->ops->settings_restore(s, in, cause);
}

int
store_audit_restore(struct store *s, const struct store_audit *row,
    char **cause)
{
	return s->ops->audit_restore(s, row, cause);
}

int
store_queue_body(struct store *s, struct store_qmsg *m, char **cause)
{
	return s->ops->queue_body(s, m, cause);
}

int
store_queue_restore(struct store *s, const struct store_qmsg *m,
    char **cause)
{
	return s->ops->queue_restore(s, m, cause);
}
