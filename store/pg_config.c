/*
 * store/pg_config.c: profiles, global settings, the audit trail and the
 * configuration generation on PostgreSQL (store/backend.h).
 *
 * Every change takes the configuration lock (pg_tx_enter()) and writes its
 * audit row in the same transaction, with a NOTIFY on gwsmtp_config that
 * the server delivers only when the transaction commits.  Reads are one
 * statement each, so one snapshot: never half a profile or half an import.
 * Values travel as text in both directions (profile_get() and
 * profile_set() forms), so the key table of core/profile.c is the only
 * description of a profile here.  It validates nothing: callers pass what
 * core/profile.h accepted.
 */
#include "store/pg_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/xmalloc.h"
#include "store/store_row.h"

/* Parameters of the insert and update: $1..$N the keys, then these. */
#define PARAM_REVISION	(PROFILE_KEY_COUNT + 1)
#define PARAM_TIME	(PROFILE_KEY_COUNT + 2)
#define NPARAMS		(PROFILE_KEY_COUNT + 2)

/* A growing string. */
static void
add(char **buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(char **buf, const char *fmt, ...)
{
	va_list	 ap;
	char	*part, *joined;

	va_start(ap, fmt);
	part = xvasprintf(fmt, ap);
	va_end(ap);
	joined = xasprintf("%s%s", *buf != NULL ? *buf : "", part);
	free(part);
	free(*buf);
	*buf = joined;
}

void
pg_config_init(struct pg_store *s)
{
	char		*cols = NULL, *sel = NULL, *vals = NULL, *set = NULL;
	const char	*c;
	size_t		 k;

	for (k = 0; k < PROFILE_KEY_COUNT; k++) {
		c = profile_key_column((enum profile_key)k);
		/* boolean's text is t/f; ::text gives true/false. */
		add(&sel, "%s%s, ", c, profile_key_type((enum profile_key)k) ==
		    PROFILE_TYPE_BOOL ? "::text" : "");
		add(&cols, "%s, ", c);
		add(&vals, "$%zu, ", k + 1);
		if (k != PROFILE_KEY_NAME)
			add(&set, "%s = $%zu, ", c, k + 1);
	}
	s->sql_get = xasprintf("SELECT %srevision FROM profiles WHERE "
	    "name = $1", sel);
	s->sql_list = xasprintf("SELECT %srevision FROM profiles ORDER BY "
	    "name", sel);
	s->sql_insert = xasprintf("INSERT INTO profiles (%srevision, created, "
	    "updated) VALUES (%s$%d, $%d, $%d)", cols, vals, PARAM_REVISION,
	    PARAM_TIME, PARAM_TIME);
	s->sql_update = xasprintf("UPDATE profiles SET %srevision = $%d, "
	    "updated = $%d WHERE name = $%d", set, PARAM_REVISION, PARAM_TIME,
	    PROFILE_KEY_NAME + 1);
	free(cols);
	free(sel);
	free(vals);
	free(set);
}

/*
 * Wipes the passwords a result of sql_get or sql_list holds before it is
 * freed: PQclear() does not.  (libpq's input buffer, which it reuses, is
 * out of reach.)
 */
static void
clear_profiles(PGresult *r)
{
	char	*v;
	int	 i;

	if (r == NULL)
		return;
	for (i = 0; i < PQntuples(r); i++) {
		v = PQgetvalue(r, i, PROFILE_KEY_PASSWORD);
		explicit_bzero(v, strlen(v));
	}
	PQclear(r);
}

static int
profile_from_row(struct pg_store *s, const PGresult *r, int row,
    struct profile **out, char **cause)
{
	const char	*values[PROFILE_KEY_COUNT];
	int		 k;

	for (k = 0; k < PROFILE_KEY_COUNT; k++)
		values[k] = PQgetisnull(r, row, k) ? NULL :
		    PQgetvalue(r, row, k);
	return store_profile_from_text(s->shown, values,
	    strtoll(PQgetvalue(r, row, PROFILE_KEY_COUNT), NULL, 10), out,
	    cause);
}

/* Reads one profile by name: STORE_OK, STORE_NOT_FOUND or an error. */
static int
profile_fetch(struct pg_store *s, const char *name, struct profile **out,
    char **cause)
{
	PGresult	*r;
	int		 status;

	*out = NULL;
	status = pg_run_prepared(s, PP_PROFILE_GET, s->sql_get, 1, NULL, &name,
	    NULL, NULL, false, &r, "cannot read a profile", cause);
	if (status != STORE_OK)
		return status;
	status = PQntuples(r) == 0 ? STORE_NOT_FOUND :
	    profile_from_row(s, r, 0, out, cause);
	clear_profiles(r);
	return status;
}

int
pg_profile_get(struct store *base, const char *name, struct profile **out,
    char **cause)
{
	return profile_fetch(pg_of(base), name, out, cause);
}

int
pg_profile_list(struct store *base, struct profile ***out, size_t *n,
    char **cause)
{
	struct pg_store	 *s = pg_of(base);
	struct profile	**v;
	PGresult	 *r;
	int		  i, len, status;

	*out = NULL;
	*n = 0;
	status = pg_run(s, s->sql_list, 0, NULL, &r, "cannot list the "
	    "profiles", cause);
	if (status != STORE_OK)
		return status;
	len = PQntuples(r);
	v = xcalloc(len > 0 ? (size_t)len : 1, sizeof *v);
	for (i = 0; i < len; i++) {
		status = profile_from_row(s, r, i, &v[i], cause);
		if (status != STORE_OK) {
			while (i > 0)
				profile_free(v[--i]);
			free(v);
			clear_profiles(r);
			return status;
		}
	}
	clear_profiles(r);
	*out = v;
	*n = (size_t)len;
	return STORE_OK;
}

/* A query of one number. */
static int
query_number(struct pg_store *s, const char *sql, long long *out,
    const char *what, char **cause)
{
	PGresult	*r;
	int		 status;

	if ((status = pg_run(s, sql, 0, NULL, &r, what, cause)) != STORE_OK)
		return status;
	*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return STORE_OK;
}

int
pg_profile_count(struct store *base, size_t *n, char **cause)
{
	long long	c;
	int		status;

	status = query_number(pg_of(base), "SELECT count(*) FROM profiles", &c,
	    "cannot count the profiles", cause);
	if (status == STORE_OK)
		*n = (size_t)c;
	return status;
}

int
pg_profile_names(struct store *base, size_t offset, size_t limit,
    char ***out, size_t *n, char **cause)
{
	struct pg_store	 *s = pg_of(base);
	const char	 *params[2];
	char		  b1[24], b2[24], **v;
	PGresult	 *r;
	int		  i, len, status;

	*out = NULL;
	*n = 0;
	params[0] = pg_num(b1, limit > INT64_MAX ? INT64_MAX : (long long)limit);
	params[1] = pg_num(b2, offset > INT64_MAX ? INT64_MAX :
	    (long long)offset);
	status = pg_run(s, "SELECT name FROM profiles ORDER BY name LIMIT $1 "
	    "OFFSET $2", 2, params, &r, "cannot list the profile names",
	    cause);
	if (status != STORE_OK)
		return status;
	len = PQntuples(r);
	v = xcalloc(limit ? limit : 1, sizeof *v);
	for (i = 0; i < len; i++)
		v[i] = xstrdup(PQgetvalue(r, i, 0));
	PQclear(r);
	*out = v;
	*n = (size_t)len;
	return STORE_OK;
}

/*
 * The audit row, and the notification the server sends when the
 * transaction commits (the payload is the new generation).
 */
static int
audit_add(struct pg_store *s, const char *action, const char *profile,
    const char *keys, char **cause)
{
	const char	*params[6];
	char		 now[24];

	params[0] = pg_num(now, (long long)time(NULL));
	params[1] = s->os_user;
	params[2] = s->program;
	params[3] = action;
	params[4] = profile;
	params[5] = keys;
	return pg_run_prepared(s, PP_AUDIT, "WITH a AS (INSERT INTO audit "
	    "(time, os_user, program, action, profile, keys) VALUES ($1, $2, "
	    "$3, $4, $5, $6) RETURNING id) SELECT pg_notify('"
	    PG_CHANNEL_CONFIG "', id::text) FROM a", 6, NULL, params, NULL,
	    NULL, false, NULL, "cannot write the audit trail", cause);
}

/* Writes p with sql (sql_insert or sql_update) at revision rev. */
static int
profile_write(struct pg_store *s, const char *sql, const struct profile *p,
    long long rev, char **cause)
{
	const char	*params[NPARAMS];
	char		*text[PROFILE_KEY_COUNT], b1[24], b2[24];
	size_t		 k;
	int		 status;

	for (k = 0; k < PROFILE_KEY_COUNT; k++) {
		text[k] = profile_get(p, (enum profile_key)k);
		params[k] = *text[k] != '\0' ? text[k] : NULL;
	}
	params[PARAM_REVISION - 1] = pg_num(b1, rev);
	params[PARAM_TIME - 1] = pg_num(b2, (long long)time(NULL));
	status = pg_run(s, sql, NPARAMS, params, NULL, "cannot write a "
	    "profile", cause);
	for (k = 0; k < PROFILE_KEY_COUNT; k++)
		free_secret(text[k]);
	return status;
}

/*
 * The revision rule and the audit keys are store/store_row.c's, as for
 * SQLite.  The configuration lock makes the read and the write one step
 * for every other writer.
 *
 * A changed password leaves the old row version in the table's file until
 * VACUUM reclaims it (PostgreSQL has no secure_delete): see
 * pg_profile_delete().
 */
int
pg_profile_put(struct store *base, struct profile *p, bool *changed,
    char **cause)
{
	struct pg_store	*s = pg_of(base);
	struct profile	*old = NULL;
	bool		 diff[PROFILE_KEY_COUNT], own, wrote = false;
	long long	 rev = 0;
	char		*keys;
	int		 status;

	if (changed != NULL)
		*changed = false;
	if (p->name == NULL) {
		store_set_cause(cause, "%s: a profile without a name cannot be "
		    "stored", s->shown);
		return STORE_ERROR;
	}
	if ((status = pg_tx_enter(s, true, &own, cause)) != STORE_OK)
		return status;
	status = profile_fetch(s, p->name, &old, cause);
	if (status == STORE_NOT_FOUND)
		status = STORE_OK;
	if (status != STORE_OK)
		goto out;
	rev = old != NULL ? old->revision : 0;
	if ((status = store_profile_check_revision(p, old, cause)) != 0 ||
	    store_profile_changes(p, old, diff) == 0)
		goto out;

	status = profile_write(s, old == NULL ? s->sql_insert : s->sql_update,
	    p, rev + 1, cause);
	if (status != STORE_OK)
		goto out;
	keys = store_profile_keys(diff);
	status = audit_add(s, old == NULL ? "create" : "update", p->name, keys,
	    cause);
	free(keys);
	wrote = status == STORE_OK;

out:
	profile_free(old);
	status = pg_tx_leave(s, own, status, cause);
	if (status == STORE_OK && wrote) {
		p->revision = rev + 1;
		if (changed != NULL)
			*changed = true;
	}
	return status;
}

/*
 * The password is overwritten (set NULL) before the row is deleted, so no
 * live row version holds it.  PostgreSQL has no secure_delete: the older
 * row versions, the password's among them, stay in the table's file as
 * dead tuples until VACUUM (autovacuum) prunes them, and even then the
 * bytes may remain in the page's free space until it is reused, in the
 * WAL until it is recycled, and in base backups.  Erasing them needs
 * VACUUM FULL of profiles and a checkpoint, an administrator's decision
 * that this program does not take for them.
 */
int
pg_profile_delete(struct store *base, const char *name, char **cause)
{
	struct pg_store	*s = pg_of(base);
	PGresult	*r;
	const char	*key;
	bool		 own;
	long long	 n;
	int		 status;

	if (name == NULL) {
		store_set_cause(cause, "%s: no profile name given", s->shown);
		return STORE_NOT_FOUND;
	}
	if ((status = pg_tx_enter(s, true, &own, cause)) != STORE_OK)
		return status;
	status = pg_run(s, "UPDATE profiles SET password = NULL WHERE name = "
	    "$1 AND password IS NOT NULL", 1, &name, NULL, "cannot delete a "
	    "profile", cause);
	if (status != STORE_OK)
		goto out;
	status = pg_run(s, "DELETE FROM profiles WHERE name = $1", 1, &name,
	    &r, "cannot delete a profile", cause);
	if (status != STORE_OK)
		goto out;
	n = pg_changes(r);
	PQclear(r);
	if (n == 0) {
		store_set_cause(cause, "%s: no profile named '%s'", s->shown,
		    name);
		status = STORE_NOT_FOUND;
		goto out;
	}
	if ((status = audit_add(s, "delete", name, "", cause)) != STORE_OK)
		goto out;

	/* A default naming a profile that is gone would mislead the engine. */
	status = pg_run(s, "UPDATE settings SET value = '' WHERE key = "
	    "'default_profile' AND value = $1", 1, &name, &r, "cannot clear "
	    "the default profile", cause);
	if (status != STORE_OK)
		goto out;
	n = pg_changes(r);
	PQclear(r);
	key = settings_key_name(SETTINGS_KEY_DEFAULT_PROFILE);
	if (n != 0)
		status = audit_add(s, "settings", NULL, key, cause);

out:
	return pg_tx_leave(s, own, status, cause);
}

/* Reads the settings into out, which owns nothing before. */
static int
settings_read(struct pg_store *s, struct smtp_settings *out, char **cause)
{
	struct smtp_settings	 set;
	enum settings_key	 key;
	PGresult		*r;
	char			*why = NULL;
	int			 i, status;

	status = pg_run(s, "SELECT key, value FROM settings", 0, NULL, &r,
	    "cannot read the settings", cause);
	if (status != STORE_OK)
		return status;
	settings_init(&set);
	for (i = 0; i < PQntuples(r); i++) {
		/* Rows of other keys cannot come from this schema version. */
		if (settings_key_lookup(PQgetvalue(r, i, 0), &key) != 0)
			continue;
		if (settings_set(&set, key, PQgetvalue(r, i, 1), &why) != 0) {
			store_set_cause(cause, "%s: the setting %s has an "
			    "invalid value in the database (%s); set it again "
			    "with gwadmin settings", s->shown,
			    PQgetvalue(r, i, 0), why);
			free(why);
			settings_clear(&set);
			PQclear(r);
			return STORE_ERROR;
		}
	}
	PQclear(r);
	*out = set;
	return STORE_OK;
}

int
pg_settings_get(struct store *base, struct smtp_settings *out, char **cause)
{
	return settings_read(pg_of(base), out, cause);
}

/*
 * store_settings_put() and, without its audit row (audit false),
 * store_settings_restore(): the keys that differ from the stored ones.
 */
static int
settings_write(struct pg_store *s, const struct smtp_settings *in,
    bool audit, char **cause)
{
	struct smtp_settings	 cur;
	bool			 diff[SETTINGS_KEY_COUNT], own, have = false;
	const char		*params[2];
	char			*value, *keys;
	size_t			 k;
	int			 status;

	if ((status = pg_tx_enter(s, true, &own, cause)) != STORE_OK)
		return status;
	if ((status = settings_read(s, &cur, cause)) != STORE_OK)
		goto out;
	have = true;
	if (settings_diff(&cur, in, diff) == 0)
		goto out;
	for (k = 0; k < SETTINGS_KEY_COUNT && status == STORE_OK; k++) {
		if (!diff[k])
			continue;
		value = settings_get(in, (enum settings_key)k);
		params[0] = settings_key_name((enum settings_key)k);
		params[1] = value;
		status = pg_run(s, "INSERT INTO settings (key, value) VALUES "
		    "($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
		    "excluded.value", 2, params, NULL, "cannot write the "
		    "settings", cause);
		free(value);
	}
	if (status != STORE_OK || !audit)
		goto out;
	keys = store_settings_keys(diff);
	status = audit_add(s, "settings", NULL, keys, cause);
	free(keys);

out:
	if (have)
		settings_clear(&cur);
	return pg_tx_leave(s, own, status, cause);
}

int
pg_settings_put(struct store *base, const struct smtp_settings *in,
    char **cause)
{
	return settings_write(pg_of(base), in, true, cause);
}

int
pg_audit_foreach(struct store *base,
    int (*fn)(const struct store_audit *row, void *arg), void *arg,
    char **cause)
{
	struct pg_store		*s = pg_of(base);
	struct store_audit	 row;
	PGresult		*r;
	int			 i, status;

	status = pg_run(s, "SELECT id, time, os_user, program, action, "
	    "profile, keys FROM audit ORDER BY id", 0, NULL, &r, "cannot read "
	    "the audit trail", cause);
	if (status != STORE_OK)
		return status;
	for (i = 0; i < PQntuples(r); i++) {
		row.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		row.time = (time_t)strtoll(PQgetvalue(r, i, 1), NULL, 10);
		row.os_user = PQgetvalue(r, i, 2);
		row.program = PQgetvalue(r, i, 3);
		row.action = PQgetvalue(r, i, 4);
		row.profile = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
		row.keys = PQgetvalue(r, i, 6);
		if (fn(&row, arg) != 0)
			break;
	}
	PQclear(r);
	return STORE_OK;
}

/*
 * The newest audit id.  Ids are drawn when the row is written, not when
 * it commits; the configuration lock makes the two orders the same, so a
 * reader never sees a generation that a slower commit later goes below.
 */
int
pg_config_generation(struct store *base, long long *gen, char **cause)
{
	return query_number(pg_of(base), "SELECT coalesce(max(id), 0) FROM "
	    "audit", gen, "cannot read the audit trail", cause);
}

/* The statement store_profile_put() inserts with, the revision the row's. */
int
pg_profile_restore(struct store *base, const struct profile *p,
    char **cause)
{
	struct pg_store	*s = pg_of(base);
	bool		 own;
	int		 status;

	if ((status = store_profile_check_restore(s->shown, p, cause)) != 0 ||
	    (status = pg_tx_enter(s, true, &own, cause)) != STORE_OK)
		return status;
	status = profile_write(s, s->sql_insert, p, p->revision, cause);
	return pg_tx_leave(s, own, status, cause);
}

int
pg_settings_restore(struct store *base, const struct smtp_settings *in,
    char **cause)
{
	return settings_write(pg_of(base), in, false, cause);
}

/*
 * The id is the row's (OVERRIDING SYSTEM VALUE), and the identity's
 * sequence is moved past it, so that the next change's row comes after.
 * setval() is not undone by a rollback: a copy that fails leaves the
 * sequence ahead, and later ids skip some numbers, which nothing minds.
 * As every configuration change, it notifies engines on commit.
 */
int
pg_audit_restore(struct store *base, const struct store_audit *row,
    char **cause)
{
	struct pg_store	*s = pg_of(base);
	const char	*params[7];
	char		 b1[24], b2[24];
	bool		 own;
	int		 status;

	if ((status = store_audit_check_restore(s->shown, row, cause)) != 0 ||
	    (status = pg_tx_enter(s, true, &own, cause)) != STORE_OK)
		return status;
	params[0] = pg_num(b1, row->id);
	params[1] = pg_num(b2, (long long)row->time);
	params[2] = row->os_user;
	params[3] = row->program;
	params[4] = row->action;
	params[5] = row->profile;
	params[6] = row->keys;
	status = pg_run(s, "WITH a AS (INSERT INTO audit (id, time, os_user, "
	    "program, action, profile, keys) OVERRIDING SYSTEM VALUE VALUES "
	    "($1, $2, $3, $4, $5, $6, $7) RETURNING id) "
	    "SELECT setval(pg_get_serial_sequence('audit', 'id'), "
	    "greatest(a.id, (SELECT coalesce(max(id), 0) FROM audit))), "
	    "pg_notify('" PG_CHANNEL_CONFIG "', a.id::text) FROM a", 7,
	    params, NULL, "cannot write the audit trail", cause);
	return pg_tx_leave(s, own, status, cause);
}
