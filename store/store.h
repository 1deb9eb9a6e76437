/*
 * store/store.h: the configuration store, one SQLite file shared by gwadmin
 * (writer) and gwengine (reader).
 *
 * The only interface to the database: nothing outside store/ sees SQL.  It
 * holds profiles, the global SMTP settings and the audit trail; it enforces
 * the file rules of SPEC section 4 (0600 files, 0700 directory, WAL,
 * synchronous=FULL, secure_delete, BEGIN IMMEDIATE, user_version
 * migrations).  It does not validate profiles: callers pass only profiles
 * that core/profile.h accepted.
 */
#ifndef GWSMTP_STORE_STORE_H
#define GWSMTP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/profile.h"

struct store;

/* Results that a caller must tell apart.  Failures also set *cause. */
enum store_status {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* I/O or SQLite failure */
	STORE_NOT_FOUND = -2,	/* no such profile */
	STORE_STALE = -3,	/* changed by someone else since it was read */
	STORE_BUSY = -4,	/* locked by another process past the timeout */
	STORE_PERM = -5,	/* file or directory permissions refused */
	STORE_BADFILE = -6	/* not a gwsmtp database, or a newer schema */
};

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION	1

/*
 * The database path when --db is not given: $GWSMTP_DB, else
 * $XDG_DATA_HOME/gwsmtp/gwsmtp.db, else ~/.local/share/gwsmtp/gwsmtp.db.
 * Returns NULL with *cause if no home directory is known.  Caller frees.
 */
char	*store_default_path(char **cause);

/*
 * Opens (creating the file and its directory if missing) and migrates.
 * program is recorded in the audit trail ("gwadmin", "gwengine").
 * Returns STORE_OK, STORE_PERM, STORE_BADFILE, STORE_BUSY or STORE_ERROR.
 */
int	 store_open(const char *path, const char *program, struct store **out,
	     char **cause);
/* NULL is a no-op.  A transaction still open is rolled back. */
void	 store_close(struct store *s);

/*
 * An explicit write transaction (BEGIN IMMEDIATE) around several changes,
 * e.g. a whole import.  Without one, each change below is its own
 * transaction.  Not nested.
 */
int	 store_begin(struct store *s, char **cause);
int	 store_commit(struct store *s, char **cause);
void	 store_rollback(struct store *s);

/* STORE_OK with *out (caller frees), or STORE_NOT_FOUND (no cause set). */
int	 store_profile_get(struct store *s, const char *name,
	     struct profile **out, char **cause);
/*
 * All profiles, sorted by name.  *out is an array of n profiles; free each
 * with profile_free() and the array with free().
 */
int	 store_profile_list(struct store *s, struct profile ***out, size_t *n,
	     char **cause);
int	 store_profile_count(struct store *s, size_t *n, char **cause);
/*
 * At most limit profile names, sorted, from the offset-th on: what the menu
 * shows without reading whole profiles.  *out is an array of *n strings;
 * free each and the array.
 */
int	 store_profile_names(struct store *s, size_t offset, size_t limit,
	     char ***out, size_t *n, char **cause);

/*
 * Creates or updates p->name.  p->revision must be the revision the caller
 * read (0 for a profile it believes new); otherwise STORE_STALE and nothing
 * is written.  On success p->revision is the new revision and the audit
 * trail holds a "create" or "update" row naming the changed keys.  A profile
 * equal to the stored one writes nothing and sets *changed false.
 * changed may be NULL.  Inside store_begin(), p->revision is updated at once;
 * after store_rollback() it names a revision that was never stored.
 */
int	 store_profile_put(struct store *s, struct profile *p, bool *changed,
	     char **cause);
/* STORE_NOT_FOUND if absent.  Audited; a default_profile naming it is cleared. */
int	 store_profile_delete(struct store *s, const char *name, char **cause);

/* Fills out, which owns nothing before (uninitialised or cleared). */
int	 store_settings_get(struct store *s, struct smtp_settings *out,
	     char **cause);
/* Writes the keys that differ and audits them ("settings"). */
int	 store_settings_put(struct store *s, const struct smtp_settings *in,
	     char **cause);

/*
 * Sets *changed to whether any other connection committed since the last
 * call (or since open).  Cheap: PRAGMA data_version, no table read.
 */
int	 store_changed(struct store *s, bool *changed, char **cause);

/* One row of the audit trail.  keys is comma-separated key names. */
struct store_audit {
	long long	 id;
	time_t		 time;
	const char	*os_user;
	const char	*program;
	const char	*action;	/* create, update, delete, settings */
	const char	*profile;	/* NULL for settings */
	const char	*keys;
};

/* Calls fn for each audit row, oldest first; fn returns non-zero to stop. */
int	 store_audit_foreach(struct store *s,
	     int (*fn)(const struct store_audit *row, void *arg), void *arg,
	     char **cause);

#endif
