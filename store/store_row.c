/*
 * store/store_row.c: rows to profiles and audit keys, the checks of a
 * queued message, and core/queue.c's rule applied to the messages a
 * backend gives back, the same for every backend (store/store_row.h).  No
 * SQL and no database library here; the queue's rules are core's.
 */
#include "store/store_row.h"

#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/backend.h"

int
store_profile_from_text(const char *db,
    const char *const values[PROFILE_KEY_COUNT], long long revision,
    struct profile **out, char **cause)
{
	struct profile	*p;
	char		*why = NULL;
	size_t		 k;

	/*
	 * profile_set() of tls does not move the port (profile_tls_changed()
	 * would), so key order is fine: the stored port stands.
	 */
	p = profile_new(NULL);
	for (k = 0; k < PROFILE_KEY_COUNT; k++) {
		if (profile_set(p, (enum profile_key)k, values[k] != NULL ?
		    values[k] : "", &why) != 0) {
			store_set_cause(cause, "%s: profile '%s' has an "
			    "invalid %s in the database (%s); set it again "
			    "with gwadmin set", db, values[PROFILE_KEY_NAME] !=
			    NULL ? values[PROFILE_KEY_NAME] : "",
			    profile_key_name((enum profile_key)k), why);
			free(why);
			profile_free(p);
			return STORE_ERROR;
		}
	}
	p->revision = revision;
	*out = p;
	return STORE_OK;
}

int
store_profile_check_revision(const struct profile *p,
    const struct profile *old, char **cause)
{
	long long	rev = old != NULL ? old->revision : 0;

	if (p->revision == rev)
		return STORE_OK;
	if (old == NULL)
		store_set_cause(cause, "profile '%s' was deleted by another "
		    "program since it was read", p->name);
	else if (p->revision == 0)
		store_set_cause(cause, "profile '%s' was created by another "
		    "program meanwhile (revision %lld); read it before changing "
		    "it", p->name, rev);
	else
		store_set_cause(cause, "profile '%s' was changed by another "
		    "program since it was read (revision %lld, now %lld)",
		    p->name, p->revision, rev);
	return STORE_STALE;
}

size_t
store_profile_changes(const struct profile *p, const struct profile *old,
    bool diff[PROFILE_KEY_COUNT])
{
	size_t	k, n = 0;

	if (old != NULL)
		return profile_diff(old, p, diff);
	for (k = 0; k < PROFILE_KEY_COUNT; k++)
		n += diff[k] = profile_has(p, (enum profile_key)k);
	return n;
}

/* Comma-joined names of the marked keys. */
static char *
join(const bool *marked, size_t n, const char *(*name)(size_t))
{
	char	*out;
	size_t	 len = 0, k;

	for (k = 0; k < n; k++)
		len += marked[k] ? strlen(name(k)) + 1 : 0;
	out = xcalloc(1, len + 1);
	for (k = 0; k < n; k++) {
		if (!marked[k])
			continue;
		if (*out != '\0')
			strcat(out, ",");
		strcat(out, name(k));
	}
	return out;
}

static const char *
profile_name_of(size_t k)
{
	return profile_key_name((enum profile_key)k);
}

static const char *
settings_name_of(size_t k)
{
	return settings_key_name((enum settings_key)k);
}

char *
store_profile_keys(const bool marked[PROFILE_KEY_COUNT])
{
	return join(marked, PROFILE_KEY_COUNT, profile_name_of);
}

char *
store_settings_keys(const bool marked[SETTINGS_KEY_COUNT])
{
	return join(marked, SETTINGS_KEY_COUNT, settings_name_of);
}

int
store_qmsg_check_add(const char *db, const struct store_qmsg *m,
    char **cause)
{
	size_t	i;

	if (m->message_id == NULL || m->profile == NULL || m->sender == NULL ||
	    m->data == NULL) {
		store_set_cause(cause, "%s: a message without %s cannot be "
		    "queued", db, m->message_id == NULL ? "a Message-ID" :
		    m->profile == NULL ? "a profile" :
		    m->sender == NULL ? "a sender" : "data");
		return STORE_ERROR;
	}
	if (m->nrcpt == 0 || m->rcpt == NULL) {
		store_set_cause(cause, "%s: message %s has no recipient; "
		    "nothing to queue", db, m->message_id);
		return STORE_ERROR;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].addr == NULL) {
			store_set_cause(cause, "%s: recipient %zu of message %s "
			    "has no address", db, i + 1, m->message_id);
			return STORE_ERROR;
		}
	}
	return STORE_OK;
}

/*
 * Whether a state names one: the enums come from callers, and a word that
 * parses back is what the next read will accept.
 */
static bool
state_valid(enum queue_state st)
{
	enum queue_state	back;

	return queue_state_parse(queue_state_name(st), &back) == 0 &&
	    back == st;
}

static bool
rcpt_state_valid(enum queue_rcpt_state st)
{
	enum queue_rcpt_state	back;

	return queue_rcpt_state_parse(queue_rcpt_state_name(st), &back) == 0 &&
	    back == st;
}

int
store_qmsg_check_record(const char *db, const struct store_qmsg *m,
    const char *owner, char **cause)
{
	size_t	i;

	if (owner == NULL) {
		store_set_cause(cause, "%s: recording message %lld needs its "
		    "owner", db, m->id);
		return STORE_ERROR;
	}
	/* A sending row without a lease would never be due again. */
	if (!state_valid(m->state) || m->state == QUEUE_SENDING) {
		store_set_cause(cause, "%s: message %lld cannot be recorded as "
		    "%s", db, m->id, queue_state_name(m->state));
		return STORE_ERROR;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (!rcpt_state_valid(m->rcpt[i].state)) {
			store_set_cause(cause, "%s: recipient %zu of message "
			    "%lld has no valid state", db, i + 1, m->id);
			return STORE_ERROR;
		}
	}
	return STORE_OK;
}

void
store_qbacks_add(struct store_qbacks *l, long long id, int attempts)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	memset(&l->v[l->n], 0, sizeof l->v[l->n]);
	l->v[l->n].id = id;
	l->v[l->n].attempts = attempts;
	l->n++;
}

void
store_qbacks_release(struct store_qbacks *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		l->v[i].state = queue_released(l->v[i].attempts);
}

void
store_qbacks_hold(struct store_qbacks *l, time_t until)
{
	struct queue_held	h;
	size_t			i;

	for (i = 0; i < l->n; i++) {
		queue_hold(l->v[i].attempts, until, &h);
		l->v[i].state = h.state;
		l->v[i].held = h.held;
		l->v[i].next_attempt = h.next_attempt;
	}
}

void
store_qbacks_free(struct store_qbacks *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

int
store_profile_check_restore(const char *db, const struct profile *p,
    char **cause)
{
	if (p->name == NULL || p->revision < 1) {
		store_set_cause(cause, "%s: a profile %s cannot be copied", db,
		    p->name == NULL ? "without a name" : "never stored");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int
store_audit_check_restore(const char *db, const struct store_audit *row,
    char **cause)
{
	if (row->id < 1 || row->os_user == NULL || row->program == NULL ||
	    row->action == NULL || row->keys == NULL) {
		store_set_cause(cause, "%s: audit row %lld is incomplete and "
		    "cannot be copied", db, row->id);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int
store_qmsg_check_restore(const char *db, const struct store_qmsg *m,
    char **cause)
{
	static char		no_data[1];
	struct store_qmsg	head = *m;
	int			status;

	if (m->id < 1) {
		store_set_cause(cause, "%s: a queued message without an id "
		    "cannot be copied", db);
		return STORE_ERROR;
	}
	if (m->state == QUEUE_SENDING) {
		store_set_cause(cause, "%s: message %lld is being sent; "
		    "release it before it is copied", db, m->id);
		return STORE_ERROR;
	}
	if (m->data == NULL && !queue_state_final(m->state)) {
		store_set_cause(cause, "%s: message %lld cannot be copied: it "
		    "is still to be sent, and the database it comes from has "
		    "lost its data", db, m->id);
		return STORE_ERROR;
	}
	/* Recipients' states as a record checks them (any owner will do). */
	if ((status = store_qmsg_check_record(db, m, db, cause)) != STORE_OK)
		return status;
	/* The rest as queueing checks it; the data was seen to above. */
	if (head.data == NULL)
		head.data = no_data;
	return store_qmsg_check_add(db, &head, cause);
}
