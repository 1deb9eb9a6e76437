/*
 * store/store.h: the configuration store and the outbound queue, shared by
 * gwadmin (writer) and gwengine: one SQLite file, or a PostgreSQL database
 * that engines on several hosts share (SPEC sections 4 and 4a).
 *
 * The only interface to the database, whichever it is: nothing outside
 * store/ sees SQL.  store_open() picks the backend by its argument (a
 * postgresql:// or postgres:// URI is PostgreSQL, anything else a SQLite
 * path; a URI is refused with STORE_BADFILE by a build without
 * PostgreSQL), and every call below keeps the same contract on both.  It
 * holds profiles, the global SMTP settings, the audit trail and the queue;
 * on SQLite it enforces the file rules of SPEC section 4 (0600 files, 0700
 * directory, WAL, synchronous=FULL, secure_delete, BEGIN IMMEDIATE,
 * user_version migrations).  It does not validate profiles: callers pass
 * only profiles that core/profile.h accepted.
 */
#ifndef GWSMTP_STORE_STORE_H
#define GWSMTP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/profile.h"
#include "core/queue.h"

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
#define STORE_SCHEMA_VERSION	2

/*
 * The database path when --db is not given: $GWSMTP_DB, else
 * $XDG_DATA_HOME/gwsmtp/gwsmtp.db, else ~/.local/share/gwsmtp/gwsmtp.db.
 * Returns NULL with *cause if no home directory is known.  Caller frees.
 */
char	*store_default_path(char **cause);

/*
 * Opens (creating the file and its directory if missing) and migrates.
 * program is recorded in the audit trail ("gwadmin", "gwengine").
 * Returns STORE_OK, STORE_PERM, STORE_BADFILE, STORE_BUSY or STORE_ERROR;
 * STORE_PERM, having created nothing, when another user than the
 * database's owner could read it or swap it: group or others may open it
 * or its -wal, -shm or -journal file, such a file is not the owner's, or a
 * directory on its path is another user's or writable by them.
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

/*
 * A descriptor that turns readable when another process may have committed,
 * for a daemon to poll while it is idle; store_changed() then tells, and
 * empties it again.  SQLite: inotify on the database's directory;
 * PostgreSQL: the connection, which LISTENs for the NOTIFY every change of
 * configuration and every queued message sends.  Owned by s (made on the
 * first call).  -1 with *cause if there is none: then poll on a timer.
 */
int	 store_notify_fd(struct store *s, char **cause);

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

/*
 * A change to the configuration (profiles, settings) since a generation
 * was read: *gen is the newest audit row's id, which every such change
 * writes in its own transaction.  Cheap: one index lookup.
 */
int	 store_config_generation(struct store *s, long long *gen,
	     char **cause);

/* The outbound queue. */

struct store_qrcpt {
	char			*addr;
	enum queue_rcpt_state	 state;
	int			 code;		/* last reply's code, 0: none */
	char			*reply;		/* its summary, or NULL */
};

struct store_qmsg {
	long long		 id;		/* set by store_queue_add() */
	char			*message_id;	/* the Message-ID header */
	char			*profile;
	char			*sender;
	enum queue_state	 state;
	int			 attempts;
	bool			 held;		/* waiting for configuration:
						   not an attempt */
	time_t			 submitted;
	time_t			 next_attempt;
	time_t			 updated;
	char			*last_reply;	/* or NULL */
	size_t			 size;		/* the message's octets (before
						   dot-stuffing) */
	struct store_qrcpt	*rcpt;
	size_t			 nrcpt;
	char			*data;		/* DATA form (message_smtp_data);
						   only from store_queue_claim */
	size_t			 datalen;
	long long		 claim;		/* the claim's token, set by
						   store_queue_claim (0 where
						   the backend has none) */
};

/* Frees what m owns and zeroes it; NULL is a no-op. */
void	 store_qmsg_clear(struct store_qmsg *m);
/* Clears and frees an array of n messages. */
void	 store_qmsg_free_array(struct store_qmsg *v, size_t n);

/*
 * Queues m (message_id, profile, sender, rcpt[].addr, data, datalen,
 * size, submitted): state queued, every recipient pending, due at once.  Sets
 * m->id.  Durable when it returns (synchronous=FULL), unless inside
 * store_begin(), where store_commit() makes it so.
 */
int	 store_queue_add(struct store *s, struct store_qmsg *m, char **cause);

/*
 * Every queued message, oldest first, with recipients, without data.
 * *out is an array of *n; free with store_qmsg_free_array().
 */
int	 store_queue_list(struct store *s, struct store_qmsg **out, size_t *n,
	     char **cause);
/* One message with recipients, without data; STORE_NOT_FOUND if absent. */
int	 store_queue_get(struct store *s, long long id, struct store_qmsg *out,
	     char **cause);

/* Profiles that have messages due now, with how many each. */
struct store_qdue {
	char	*profile;
	size_t	 count;
};

/*
 * Due: queued or deferred with next_attempt <= now, or sending under a
 * lease that ended (lease_until <= now).  *out is an array of *n sorted by
 * profile name (free each profile and the array).  *next is the earliest
 * next_attempt or lease end after now, 0 if none: when to look again.
 */
int	 store_queue_due(struct store *s, time_t now, struct store_qdue **out,
	     size_t *n, time_t *next, char **cause);

/*
 * Claims at most max due messages of profile, oldest due first, for owner
 * until lease_until, in one transaction: they become sending, and come
 * back in *out with recipients and data (free with
 * store_qmsg_free_array()).  *n is 0 when none is due.
 */
int	 store_queue_claim(struct store *s, const char *profile,
	     const char *owner, time_t now, time_t lease_until, size_t max,
	     struct store_qmsg **out, size_t *n, char **cause);

/*
 * Writes the outcome of an attempt on a message owner claimed: state,
 * attempts, held, next_attempt, last_reply, and each recipient's state,
 * code and reply; ends the lease; deletes the data once the state is
 * final.  STORE_STALE, writing nothing, when owner no longer holds it (its
 * lease ended and another engine took it).  Group several inside
 * store_begin()/store_commit().
 */
int	 store_queue_record(struct store *s, const struct store_qmsg *m,
	     const char *owner, time_t now, char **cause);

/*
 * Gives back, without an attempt, every message owner holds: each goes
 * back to queued (never tried) or deferred, due as it was.  For a clean
 * stop.  *n (may be NULL) is how many.
 */
int	 store_queue_release(struct store *s, const char *owner, size_t *n,
	     char **cause);

/* Extends to lease_until every lease owner holds. */
int	 store_queue_renew(struct store *s, const char *owner,
	     time_t lease_until, char **cause);

/*
 * Frees the leases of engines that are gone: for each distinct owner of a
 * sending message, alive(owner, arg) says whether it still runs; a dead
 * owner's messages are released as by store_queue_release().  *n (may be
 * NULL) is how many messages were freed.
 */
int	 store_queue_recover(struct store *s,
	     bool (*alive)(const char *owner, void *arg), void *arg,
	     size_t *n, char **cause);

/*
 * Holds the due messages of profile (inactive, SMTP disabled, profile
 * missing or invalid): held, last_reply = reason, next_attempt = until,
 * attempts unchanged.  Only queued and deferred messages not under a live
 * lease.  *n (may be NULL) is how many.
 */
int	 store_queue_hold(struct store *s, const char *profile,
	     const char *reason, time_t now, time_t until, size_t *n,
	     char **cause);
/* Makes every held message due at now: the configuration changed. */
int	 store_queue_wake_held(struct store *s, time_t now, char **cause);

/* Deletes sent and failed messages last updated before before. */
int	 store_queue_purge(struct store *s, time_t before, size_t *n,
	     char **cause);

/*
 * Copying a whole store into an empty one (gwadmin copy): one snapshot of
 * the source, what the target holds, and writes of what was read, as it
 * was read.  The writes below add no audit row: a copy's trail is the
 * source's.  Run them inside store_begin(), so that a failure leaves the
 * target as it was.
 */

/*
 * A read-only transaction: every read until store_commit() or
 * store_rollback() sees one snapshot of the database, while other
 * processes go on writing (SQLite: a deferred transaction, which a WAL
 * reader holds without a lock; PostgreSQL: REPEATABLE READ, READ ONLY).
 * Nothing may be written in it.  Not nested, not inside store_begin().
 */
int	 store_begin_read(struct store *s, char **cause);

/* How much a store holds. */
struct store_counts {
	size_t	profiles;
	size_t	settings;	/* stored settings: keys ever set */
	size_t	audit;		/* rows of the audit trail */
	size_t	queue;		/* queued messages, in any state */
};

/*
 * Counts what s holds.  Inside store_begin() the counts stand until the
 * transaction ends: no other process can change them meanwhile (SQLite:
 * the write lock; PostgreSQL: the tables are locked against other
 * writers, and against a second such count; readers go on).
 */
int	 store_counts(struct store *s, struct store_counts *out, char **cause);

/*
 * The database as messages name it: its path, or its URI without the
 * password.  Owned by s.
 */
const char *store_shown(struct store *s);

/*
 * Writes p as it was read from another store: its revision kept, no audit
 * row (the stored created and updated times, which nothing reads, are the
 * time of this write).  STORE_ERROR if a profile of that name exists, or
 * p has no name or no revision.
 */
int	 store_profile_restore(struct store *s, const struct profile *p,
	     char **cause);
/* Writes the settings that differ from the stored ones; no audit row. */
int	 store_settings_restore(struct store *s, const struct smtp_settings *in,
	     char **cause);
/*
 * Appends row as it is, its id included; rows added later get ids after
 * it.  STORE_ERROR if the id is taken.
 */
int	 store_audit_restore(struct store *s, const struct store_audit *row,
	     char **cause);

/*
 * Reads the body of message m->id into m->data and m->datalen
 * (NUL-terminated, as store_queue_claim() gives it; the caller wipes it
 * after use with explicit_bzero()), or STORE_NOT_FOUND, leaving them NULL
 * and 0, when it has none: sent and failed messages drop theirs.
 */
int	 store_queue_body(struct store *s, struct store_qmsg *m, char **cause);
/*
 * Writes m as it was read from another store: id, message_id, profile,
 * sender, state, attempts, held, submitted, next_attempt, updated,
 * last_reply, size, each recipient with its state, code and reply, and the
 * data unless NULL.  Messages queued later get ids after it.  Refused
 * (STORE_ERROR): a sending message (its lease means nothing here: release
 * it first), a waiting one without data, a taken id.
 */
int	 store_queue_restore(struct store *s, const struct store_qmsg *m,
	     char **cause);

#endif
