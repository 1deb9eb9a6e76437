/*
 * store/store_row.h: what every backend does with its rows that is not
 * SQL, so that it is done once: a profile from its columns' text, the
 * audit trail's list of changed keys, the checks of a queued message, and
 * what core/queue.c decides for messages given back without an attempt.
 * Private to store/.
 */
#ifndef GWSMTP_STORE_STORE_ROW_H
#define GWSMTP_STORE_STORE_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/profile.h"
#include "store/store.h"

/*
 * Builds a profile from the text of each column, values[k] for key k
 * (NULL for SQL NULL: unset), as profile_set() reads them (booleans as
 * true/false or 1/0).  db names the database in messages.  STORE_OK with
 * *out, or STORE_ERROR with *cause naming the profile and the key whose
 * value no longer passes (the database was changed by hand).
 */
int		 store_profile_from_text(const char *db,
		     const char *const values[PROFILE_KEY_COUNT],
		     long long revision, struct profile **out, char **cause);

/*
 * store_profile_put()'s revision rule: STORE_OK when p->revision is the
 * stored one (old's, 0 when old is NULL, the profile is new), else
 * STORE_STALE with *cause saying who changed what.
 */
int		 store_profile_check_revision(const struct profile *p,
		     const struct profile *old, char **cause);
/*
 * What writing p over old (NULL: a create) changes, for the audit row:
 * for a create the keys that hold a value (what the new profile carries,
 * never the values), for an update the keys profile_diff() reports.
 * Returns how many; 0 means an update that writes nothing.
 */
size_t		 store_profile_changes(const struct profile *p,
		     const struct profile *old, bool diff[PROFILE_KEY_COUNT]);

/* The audit row's keys: comma-joined names of the marked keys.  Caller frees. */
char		*store_profile_keys(const bool marked[PROFILE_KEY_COUNT]);
char		*store_settings_keys(const bool marked[SETTINGS_KEY_COUNT]);

/*
 * What a queued message must hold before a backend writes it: for
 * store_queue_add() (message_id, profile, sender, data, recipients with
 * addresses) and for store_queue_record() (an owner, a state other than
 * sending, valid recipient states).  STORE_OK, or STORE_ERROR with *cause.
 */
int		 store_qmsg_check_add(const char *db,
		     const struct store_qmsg *m, char **cause);
int		 store_qmsg_check_record(const char *db,
		     const struct store_qmsg *m, const char *owner,
		     char **cause);

/*
 * Messages given back without an attempt: store_queue_release() (and so
 * store_queue_recover()) and store_queue_hold().  A backend reads the rows
 * concerned, their ids and attempts, with its own SQL; store_qbacks_release()
 * or store_qbacks_hold() has core/queue.c decide each one; the backend
 * writes back by id what was decided.  The backend stores, core decides.
 */
struct store_qback {
	long long		 id;
	int			 attempts;	/* as read: the decision rests
						   on it */
	enum queue_state	 state;		/* decided */
	bool			 held;		/* decided, by a hold only */
	time_t			 next_attempt;	/* decided, by a hold only */
};

/* A list of them, v[0..n); zero it before the first add. */
struct store_qbacks {
	struct store_qback	*v;
	size_t			 n;
	size_t			 cap;
};

void		 store_qbacks_add(struct store_qbacks *l, long long id,
		     int attempts);
/* Each given back as released (queue_released()): only the state changes. */
void		 store_qbacks_release(struct store_qbacks *l);
/* Each held until until (queue_hold()): state, held and next_attempt. */
void		 store_qbacks_hold(struct store_qbacks *l, time_t until);
/* Frees the list and zeroes it. */
void		 store_qbacks_free(struct store_qbacks *l);

/*
 * What a row written as it was read (store_*_restore()) must hold: a
 * profile a name and a revision; an audit row an id and its NOT NULL
 * columns; a queued message an id, what store_qmsg_check_add() asks but
 * the data, which only a waiting message must still have, and a state
 * other than sending with valid recipient states.  STORE_OK, or
 * STORE_ERROR with *cause.
 */
int		 store_profile_check_restore(const char *db,
		     const struct profile *p, char **cause);
int		 store_audit_check_restore(const char *db,
		     const struct store_audit *row, char **cause);
int		 store_qmsg_check_restore(const char *db,
		     const struct store_qmsg *m, char **cause);

#endif
