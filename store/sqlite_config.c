/*
 * store/sqlite_config.c: the configuration on SQLite: profiles, the
 * global SMTP settings, the audit trail and the configuration's
 * generation.
 *
 * Each configuration change writes its audit row (time, OS user, program,
 * action, profile, changed keys, never values) in the same transaction.
 * A profile's columns follow core/profile.h's keys.
 *
 * It does not validate profiles (callers pass what core/profile.h
 * accepted); it refuses, with a message, a stored enum or host list that
 * profile_set() would not take.  Transactions and SQLite's errors are
 * store/sqlite_db.c's.
 */
#include "store/sqlite_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/store_row.h"

/*
 * A profile's columns are its keys, in key order, named by
 * profile_key_column().  Strings, booleans and integers are read and
 * written in the struct directly (profile_field_*()); enums and the host
 * list go through their text forms (profile_get() and profile_set()),
 * which is what the column holds, "" (unset) stored as NULL.
 */
static bool
column_is_text(enum profile_key k)
{
	enum profile_key_type	t = profile_key_type(k);

	return t == PROFILE_TYPE_ENUM || t == PROFILE_TYPE_LIST;
}

/*
 * Parameters of the insert and update statements: ?1..?N are the columns in
 * key order, then the revision and the time.
 */
#define PARAM_REVISION	(PROFILE_KEY_COUNT + 1)
#define PARAM_TIME	(PROFILE_KEY_COUNT + 2)

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

/* The cached statements, the profiles' generated from their keys. */
int
sqlite_config_prepare(struct sqlite_store *s, char **cause)
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
	for (k = 0; k < PROFILE_KEY_COUNT; k++) {
		sql_add(&sel, "%s, ", profile_key_column(k));
		sql_add(&ins, "%s, ", profile_key_column(k));
		if (k != PROFILE_KEY_NAME)
			sql_add(&upd, "%s = ?%zu, ", profile_key_column(k),
			    k + 1);
	}
	sql_add(&sel, "revision FROM profiles");
	sql_add(&ins, "revision, created, updated) VALUES (");
	for (k = 0; k < PROFILE_KEY_COUNT; k++)
		sql_add(&ins, "?%zu, ", k + 1);
	sql_add(&ins, "?%d, ?%d, ?%d)", PARAM_REVISION, PARAM_TIME,
	    PARAM_TIME);
	sql_add(&upd, "revision = ?%d, updated = ?%d WHERE name = ?%d",
	    PARAM_REVISION, PARAM_TIME, PROFILE_KEY_NAME + 1);
	sql_add(&get, "%s WHERE name = ?1", sel.s);
	sql_add(&list, "%s ORDER BY name", sel.s);

	/* The generation's max() of the rowid: one lookup, the b-tree's end. */
	if ((status = db_prepare(s, get.s, f, &s->st_get, cause)) != 0 ||
	    (status = db_prepare(s, list.s, f, &s->st_list, cause)) != 0 ||
	    (status = db_prepare(s, ins.s, f, &s->st_insert, cause)) != 0 ||
	    (status = db_prepare(s, upd.s, f, &s->st_update, cause)) != 0 ||
	    (status = db_prepare(s, "INSERT INTO audit (time, os_user, "
	    "program, action, profile, keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    f, &s->st_audit, cause)) != 0 ||
	    (status = db_prepare(s, "SELECT coalesce(max(id), 0) FROM audit",
	    f, &s->st_generation, cause)) != 0)
		goto out;
out:
	free(sel.s);
	free(ins.s);
	free(upd.s);
	free(get.s);
	free(list.s);
	return status;
}

void
sqlite_config_finalize(struct sqlite_store *s)
{
	sqlite3_finalize(s->st_get);
	sqlite3_finalize(s->st_list);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_update);
	sqlite3_finalize(s->st_audit);
	sqlite3_finalize(s->st_generation);
}

/* Builds a profile from a row of st_get or st_list. */
static int
profile_from_row(struct sqlite_store *s, sqlite3_stmt *st, struct profile **out,
    char **cause)
{
	struct profile	*p;
	const char	*text;
	char		*why;
	size_t		 k;
	int		 pass;

	p = profile_new(NULL);
	/*
	 * Text forms first: setting tls may move a port at its default, and
	 * the stored port must win.
	 */
	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < PROFILE_KEY_COUNT; k++) {
			if (column_is_text(k) != (pass == 0))
				continue;
			text = (const char *)sqlite3_column_text(st, (int)k);
			switch (profile_key_type(k)) {
			case PROFILE_TYPE_STRING:
				profile_field_set_string(p, k, text);
				break;
			case PROFILE_TYPE_BOOL:
			case PROFILE_TYPE_INT:
				profile_field_set_int(p, k,
				    sqlite3_column_int(st, (int)k));
				break;
			case PROFILE_TYPE_ENUM:
			case PROFILE_TYPE_LIST:
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
	const char	*str;
	char		*text;
	size_t		 k;
	int		 i;

	for (k = 0; k < PROFILE_KEY_COUNT; k++) {
		i = (int)k + 1;
		switch (profile_key_type(k)) {
		case PROFILE_TYPE_STRING:
			str = profile_field_string(p, k);
			if (str == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, str, -1,
				    SQLITE_STATIC);
			break;
		case PROFILE_TYPE_BOOL:
		case PROFILE_TYPE_INT:
			sqlite3_bind_int(st, i, profile_field_int(p, k));
			break;
		case PROFILE_TYPE_ENUM:
		case PROFILE_TYPE_LIST:
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

int
sqlite_profile_get(struct store *base, const char *name, struct profile **out,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return profile_fetch(s, name, out, cause);
}

int
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

int
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

/* The revision rule and the audit row's keys are store/store_row.c's. */
int
sqlite_profile_put(struct store *base, struct profile *p, bool *changed,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	struct profile		*old = NULL;
	bool			 diff[PROFILE_KEY_COUNT], own, wrote = false;
	sqlite3_stmt		*st;
	long long		 rev = 0;
	char			*keys;
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
	if ((status = store_profile_check_revision(p, old, cause)) != 0)
		goto out;
	if (store_profile_changes(p, old, diff) == 0)
		goto out;
	st = old == NULL ? s->st_insert : s->st_update;
	profile_bind(st, p);
	sqlite3_bind_int64(st, PARAM_REVISION, rev + 1);
	sqlite3_bind_int64(st, PARAM_TIME, (sqlite3_int64)time(NULL));
	status = db_done(s, st, "cannot write a profile", cause);
	if (status != STORE_OK)
		goto out;

	keys = store_profile_keys(diff);
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

int
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

int
sqlite_settings_get(struct store *base, struct smtp_settings *out, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;

	return settings_read(s, out, cause);
}

/*
 * store_settings_put() and, without its audit row (audit false),
 * store_settings_restore(): the keys that differ from the stored ones.
 */
static int
settings_write(struct sqlite_store *s, const struct smtp_settings *in,
    bool audit, char **cause)
{
	struct smtp_settings	 cur;
	sqlite3_stmt		*st = NULL;
	bool			 diff[SETTINGS_KEY_COUNT], own, have = false;
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
	if (audit) {
		keys = store_settings_keys(diff);
		status = audit_add(s, "settings", NULL, keys, cause);
		free(keys);
	}

out:
	sqlite3_finalize(st);
	if (have)
		settings_clear(&cur);
	return tx_leave(s, own, status, cause);
}

int
sqlite_settings_put(struct store *base, const struct smtp_settings *in,
    char **cause)
{
	return settings_write((struct sqlite_store *)base, in, true, cause);
}

int
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

int
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

int
sqlite_config_generation(struct store *base, long long *gen, char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_generation;
	int			 rc, status = STORE_OK;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*gen = sqlite3_column_int64(st, 0);
	else
		status = db_fail(s, rc, "cannot read the audit trail", cause);
	sqlite3_reset(st);
	return status;
}

/* The statement store_profile_put() inserts with, the revision the row's. */
int
sqlite_profile_restore(struct store *base, const struct profile *p,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = s->st_insert;
	bool			 own;
	int			 status;

	if ((status = store_profile_check_restore(s->path, p, cause)) != 0 ||
	    (status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	profile_bind(st, p);
	sqlite3_bind_int64(st, PARAM_REVISION, p->revision);
	sqlite3_bind_int64(st, PARAM_TIME, (sqlite3_int64)time(NULL));
	status = db_done(s, st, "cannot write a profile", cause);
	return tx_leave(s, own, status, cause);
}

int
sqlite_settings_restore(struct store *base, const struct smtp_settings *in,
    char **cause)
{
	return settings_write((struct sqlite_store *)base, in, false, cause);
}

/*
 * The id is the row's: the audit table's INTEGER PRIMARY KEY, without
 * AUTOINCREMENT, gives the next row the largest id plus one.
 */
int
sqlite_audit_restore(struct store *base, const struct store_audit *row,
    char **cause)
{
	struct sqlite_store	*s = (struct sqlite_store *)base;
	sqlite3_stmt		*st = NULL;
	bool			 own;
	int			 status;

	if ((status = store_audit_check_restore(s->path, row, cause)) != 0 ||
	    (status = tx_enter(s, &own, cause)) != STORE_OK)
		return status;
	status = db_prepare(s, "INSERT INTO audit (id, time, os_user, "
	    "program, action, profile, keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7)", 0, &st, cause);
	if (status == STORE_OK) {
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)row->time);
		sqlite3_bind_text(st, 3, row->os_user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, row->program, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, row->action, -1, SQLITE_STATIC);
		if (row->profile != NULL)
			sqlite3_bind_text(st, 6, row->profile, -1,
			    SQLITE_STATIC);
		sqlite3_bind_text(st, 7, row->keys, -1, SQLITE_STATIC);
		status = db_done(s, st, "cannot write the audit trail", cause);
	}
	sqlite3_finalize(st);
	return tx_leave(s, own, status, cause);
}
