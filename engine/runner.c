/*
 * engine/runner.c: `gwengine run`, the queue's delivery loop
 * (engine/runner.h).
 *
 * Crash safety rests on leases: a worker claims messages in one
 * transaction (state sending, its owner name, a lease end) and records
 * each outcome after the server's reply.  An engine killed at any moment
 * leaves its claims sending; the next engine on the same host frees them
 * at once when the owner's process is gone (owner names carry the host
 * name, boot id, pid and start time), and any engine, on any host, takes
 * them when the lease ends (--lease, 45 s by default, renewed every
 * quarter of it while the owner runs).  One recovery path for both
 * backends: an owner on another host is never judged by its pid.  Outcomes are committed
 * in groups: at GROUP_MAX outcomes, before the next message once the
 * oldest is GROUP_MS old, and at the end of a batch.  A message is sent twice only
 * if the engine died after the server's 250 and before that group's
 * commit, and it is the stored message, with the same Message-ID, both
 * times.
 *
 * Live configuration: before each message a worker asks the store whether
 * anyone committed (store_changed(): PRAGMA data_version or a NOTIFY, no
 * table read); only then does it
 * compare the configuration generation and reload.  A changed profile ends
 * the session, and the next message opens one with the new settings.
 */
#include "engine/runner.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "core/message.h"
#include "core/queue.h"
#include "core/text.h"
#include "core/xmalloc.h"
#include "engine/deadline.h"
#include "engine/gwengine.h"
#include "engine/log.h"
#include "engine/smtp.h"
#include "store/store.h"

#define CLAIM_MAX	128	/* messages one worker claims at a time */
#define GROUP_MAX	64	/* outcomes committed together, at most */
#define GROUP_MS	25	/* or before a message once this old */
#define HOLD_SECONDS	300	/* held messages are looked at again after */
#define IDLE_SECONDS	60	/* the longest an idle daemon sleeps */
#define PURGE_SECONDS	(7 * 86400)	/* sent/failed entries are kept */
#define PURGE_EVERY	3600	/* how often a daemon removes them */
#define PAUSE_SECONDS	5	/* after a store error, before trying again */

struct worker;

struct runner {
	const struct runner_opts *o;
	char		 owner[384];	/* host/boot id/pid/start time */
	int		 lease;		/* seconds a claim lasts */
	atomic_bool	 stop;
	atomic_bool	 store_failed;	/* a worker could not use the store */
	int		 wake[2];	/* a worker that ends writes a byte */
	struct worker	*workers;
	unsigned	 seq;
	atomic_size_t	 sent, deferred, failed, held;
};

struct worker {
	struct runner	*r;
	struct worker	*next;
	char		*profile;
	char		*owner;		/* runner's owner + "/wN" */
	size_t		 claim;		/* messages per claim */
	pthread_t	 thread;
	atomic_bool	 done;
};

/* A worker's state between messages. */
struct wctx {
	struct worker		*w;
	struct store		*store;
	long long		 gen;		/* configuration generation */
	bool			 stale;		/* gen changed: reload it */
	struct smtp_settings	 set;
	struct profile		*p;		/* NULL when missing/invalid */
	char			*problem;	/* why messages wait, or NULL */
	char			*helo;
	struct smtp_session	*session;
	enum smtp_status	 open_st;	/* this batch's failed open */
	char			*open_cause;
	struct store_qmsg	**pending;	/* outcomes not yet committed */
	size_t			 npending;
	struct timespec		 first_pending;
};

/* Owner names: "HOST/BOOTID/PID/STARTTIME[/wN]". */

/* This host's name ("unknown" if it has none); set before any thread. */
static const char *
host_name(void)
{
	static char name[256];

	if (name[0] == '\0' && (gethostname(name, sizeof name - 1) != 0 ||
	    name[0] == '\0' || strchr(name, '/') != NULL))
		snprintf(name, sizeof name, "unknown");
	return name;
}

static int
read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, in ticks. */
static int
start_time(long pid, unsigned long long *out)
{
	char path[64], buf[1024], *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (read_small(path, buf, sizeof buf) != 0 ||
	    (p = strrchr(buf, ')')) == NULL)
		return -1;
	/* After "comm)" come fields 3, 4, ...: skip 19 to reach 22. */
	for (int i = 0; i < 20; i++) {
		if ((p = strchr(p + 1, ' ')) == NULL)
			return -1;
	}
	return sscanf(p + 1, "%llu", out) == 1 ? 0 : -1;
}

static void
owner_self(char *buf, size_t len)
{
	char boot[64];
	unsigned long long st = 0;

	if (read_small("/proc/sys/kernel/random/boot_id", boot,
	    sizeof boot) != 0)
		snprintf(boot, sizeof boot, "unknown");
	start_time((long)getpid(), &st);
	snprintf(buf, len, "%s/%s/%ld/%llu", host_name(), boot,
	    (long)getpid(), st);
}

/*
 * Whether the engine named owner may still run.  Only an owner of this
 * host is judged: a different boot id means it died with the machine, a
 * pid whose process is gone or started at another time is dead.  An owner
 * of another host (engines sharing a PostgreSQL queue), and anything that
 * cannot be told, is alive: the lease's end decides then.
 */
static bool
owner_alive(const char *owner, void *arg)
{
	char host[256], boot[64], mine[64];
	long pid;
	unsigned long long start, now;
	int used = 0;

	(void)arg;
	if (sscanf(owner, "%255[^/]/%63[^/]/%ld/%llu%n", host, boot, &pid,
	    &start, &used) != 4 || used == 0 || pid <= 0)
		return true;
	if (strcmp(host, host_name()) != 0)
		return true;
	if (read_small("/proc/sys/kernel/random/boot_id", mine,
	    sizeof mine) != 0 || strcmp(boot, "unknown") == 0)
		return true;
	if (strcmp(boot, mine) != 0)
		return false;
	if (start_time(pid, &now) != 0)
		return false;
	return now == start;
}

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Worker: configuration. */

static void
config_clear(struct wctx *c)
{
	profile_free(c->p);
	c->p = NULL;
	settings_clear(&c->set);
	free(c->problem);
	c->problem = NULL;
	free(c->helo);
	c->helo = NULL;
}

/*
 * Reads the settings and the worker's profile; sets c->problem when its
 * messages must wait.  A profile that changed ends the open session.
 */
static void
config_load(struct wctx *c)
{
	const char *name = c->w->profile;
	struct diag_list errs = { 0 };
	struct profile *old = c->p;
	char *cause = NULL, *shown = text_escape(name);
	int rc;

	c->p = NULL;
	config_clear(c);
	if (store_config_generation(c->store, &c->gen, &cause) != STORE_OK ||
	    store_settings_get(c->store, &c->set, &cause) != STORE_OK) {
		c->problem = xasprintf("cannot read the configuration: %s",
		    cause);
		goto out;
	}
	rc = store_profile_get(c->store, name, &c->p, &cause);
	if (rc == STORE_NOT_FOUND)
		c->problem = xasprintf("no profile named '%s' (gwadmin list "
		    "shows them)", shown);
	else if (rc != STORE_OK)
		c->problem = xasprintf("cannot read profile '%s': %s", shown,
		    cause);
	else if (profile_validate(c->p, &errs) > 0) {
		char *line = diag_format(&errs.v[0], NULL);

		c->problem = xasprintf("profile '%s' cannot be used: %s",
		    shown, line);
		free(line);
	} else if (!c->set.enabled)
		c->problem = xstrdup("SMTP is deactivated (gwadmin settings "
		    "enabled=true)");
	else if (!c->p->active)
		c->problem = xasprintf("profile '%s' is inactive (gwadmin set "
		    "%s active=true)", shown, shown);
	if (c->problem != NULL) {
		profile_free(c->p);
		c->p = NULL;
	} else
		c->helo = gwengine_helo_name(c->p);
out:
	if (c->p == NULL || old == NULL || old->revision != c->p->revision) {
		smtp_close(c->session);
		c->session = NULL;
		free(c->open_cause);	/* the new settings get their chance */
		c->open_cause = NULL;
	}
	profile_free(old);
	diag_list_clear(&errs);
	free(shown);
	free(cause);
}

/*
 * Whether the configuration moved since c->gen was read.  PRAGMA
 * data_version first: the generation is read only after someone's commit.
 * A generation that cannot be read counts as moved.
 */
static bool
config_moved(struct wctx *c)
{
	bool changed = false, moved;
	long long gen;
	char *cause = NULL;

	if (store_changed(c->store, &changed, &cause) != STORE_OK ||
	    !changed) {
		free(cause);
		return false;
	}
	moved = store_config_generation(c->store, &gen, &cause) != STORE_OK ||
	    gen != c->gen;
	free(cause);
	return moved;
}

/* Reloads the configuration if it moved (or stream_next() saw it move). */
static void
config_check(struct wctx *c)
{
	if (c->stale || config_moved(c)) {
		c->stale = false;
		config_load(c);
	}
}

/* Worker: outcomes. */

static void
count_outcome(struct runner *r, const struct store_qmsg *m)
{
	if (m->held)
		atomic_fetch_add(&r->held, 1);
	else if (m->state == QUEUE_SENT)
		atomic_fetch_add(&r->sent, 1);
	else if (m->state == QUEUE_FAILED)
		atomic_fetch_add(&r->failed, 1);
	else
		atomic_fetch_add(&r->deferred, 1);
}

/*
 * Commits the pending outcomes in one transaction.  If the store stays
 * busy they are dropped with an error: their leases end and the messages
 * go again (the duplicate case the crash rules allow).
 */
static void
flush_pending(struct wctx *c)
{
	char *cause = NULL;
	time_t now = time(NULL);
	int rc = STORE_ERROR;

	if (c->npending == 0)
		return;
	for (int tries = 0; tries < 3 && rc != STORE_OK; tries++) {
		if ((rc = store_begin(c->store, &cause)) != STORE_OK)
			goto retry;
		for (size_t i = 0; i < c->npending && rc == STORE_OK; i++) {
			rc = store_queue_record(c->store, c->pending[i],
			    c->w->owner, now, &cause);
			if (rc == STORE_STALE) {
				log_error("queue=%lld: another engine took it "
				    "over; this outcome is not recorded",
				    c->pending[i]->id);
				free(cause);
				cause = NULL;
				rc = STORE_OK;
				c->pending[i]->state = QUEUE_SENDING;
			}
		}
		if (rc == STORE_OK && (rc = store_commit(c->store, &cause)) ==
		    STORE_OK)
			break;
		store_rollback(c->store);
retry:
		if (tries < 2) {
			free(cause);
			cause = NULL;
			usleep(100000);
		}
	}
	if (rc != STORE_OK)
		log_error("recording %zu outcomes failed: %s", c->npending,
		    cause ? cause : "database error");
	else {
		for (size_t i = 0; i < c->npending; i++) {
			if (c->pending[i]->state != QUEUE_SENDING)
				count_outcome(c->w->r, c->pending[i]);
		}
	}
	free(cause);
	c->npending = 0;
}

static void
add_pending(struct wctx *c, struct store_qmsg *m)
{
	if (c->npending == 0)
		clock_gettime(CLOCK_MONOTONIC, &c->first_pending);
	c->pending[c->npending++] = m;
	if (c->npending >= GROUP_MAX)
		flush_pending(c);
}

/* The message waits for the configuration: not an attempt (queue_hold()). */
static void
hold(struct wctx *c, struct store_qmsg *m)
{
	struct queue_held h;

	queue_hold(m->attempts, time(NULL) + HOLD_SECONDS, &h);
	m->state = h.state;
	m->held = h.held;
	m->next_attempt = h.next_attempt;
	free(m->last_reply);
	m->last_reply = xstrdup(c->problem);
	log_info("queue=%lld profile=%s status=held reason=\"%s\"", m->id,
	    c->w->profile, c->problem);
	add_pending(c, m);
}

/*
 * Applies one attempt's outcome to m: each recipient's state, code and
 * reply, the message's state and back-off; logs it and queues the record.
 * pr says how far a failed open got (NULL when a session carried it).
 */
static void
outcome(struct wctx *c, struct store_qmsg *m, enum smtp_status st,
    const struct smtp_result *res, const char *cause,
    const struct smtp_probe *pr)
{
	enum queue_unreached unreached = QUEUE_UNREACHED_RETRY;
	enum queue_rcpt_state *states;
	struct queue_policy pol;
	struct queue_decision d;
	const char *reply;
	int *codes;
	size_t k = 0;

	/* res->rcpt[k] is the k-th recipient that was still pending. */
	states = xcalloc(m->nrcpt, sizeof *states);
	codes = xcalloc(m->nrcpt, sizeof *codes);
	/*
	 * A refusal of the whole message (5xx to MAIL, too large) fails the
	 * recipients it never reached; after a later transaction of a
	 * message with more than SMTP_RCPT_MAX recipients failed, those it
	 * never reached are tried again.
	 */
	if (st == SMTP_ERR_PERM || st == SMTP_ERR_DATA)
		unreached = QUEUE_UNREACHED_FAIL;
	for (size_t i = 0; i < m->nrcpt; i++) {
		states[i] = m->rcpt[i].state;
		if (states[i] != QUEUE_RCPT_PENDING)
			continue;
		if (k < res->nrcpt) {
			codes[i] = res->rcpt[k].final;
			if (res->rcpt[k].code != 0)
				unreached = QUEUE_UNREACHED_RETRY;
		}
		k++;
	}
	queue_policy_of(c->p, &pol);
	queue_decide(&pol, m->attempts, time(NULL), states, codes, m->nrcpt,
	    unreached, &d);
	k = 0;
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct store_qrcpt *r = &m->rcpt[i];
		const struct smtp_rcpt_result *rr;

		if (r->state != QUEUE_RCPT_PENDING)
			continue;
		r->state = states[i];
		if (k >= res->nrcpt || res->rcpt[k].code == 0) {
			k++;
			continue;
		}
		rr = &res->rcpt[k++];
		free(r->reply);
		if (rr->code / 100 != 2) {
			r->code = rr->code;
			r->reply = xstrdup(rr->reply);
		} else {
			r->code = rr->final;
			r->reply = res->reply ? xstrdup(res->reply) : NULL;
		}
	}
	m->state = d.state;
	m->attempts = d.attempts;
	m->next_attempt = d.next_attempt;
	m->held = false;
	reply = st == SMTP_OK ? res->reply : cause;
	free(m->last_reply);
	m->last_reply = d.gave_up ? xasprintf("gave up after %d attempts: "
	    "%s", d.attempts, reply ? reply : "") : xstrdup(reply ? reply :
	    "");
	log_message(m->id, c->p, c->session, pr, m->size, m->message_id,
	    queue_state_name(m->state), m->last_reply);
	free(states);
	free(codes);
	add_pending(c, m);
}

/*
 * Why a claimed message cannot go, or NULL: the store's copy is checked
 * again with submit's rules (sender and recipients as the from and to
 * keys, the data in DATA form), so nothing written into the database
 * behind gwengine's back reaches the wire.  Caller frees.
 */
static char *
message_problem(const struct store_qmsg *m)
{
	char *cause = NULL, *shown = NULL, *why = NULL;

	if (m->sender == NULL || *m->sender == '\0')
		return xstrdup("the stored message has no sender");
	if (profile_check_value(PROFILE_KEY_FROM, m->sender, &cause) != 0) {
		shown = text_escape(m->sender);
		why = xasprintf("the stored sender '%s' %s", shown, cause);
		goto out;
	}
	for (size_t i = 0; i < m->nrcpt; i++) {
		const char *a = m->rcpt[i].addr;

		if (m->rcpt[i].state != QUEUE_RCPT_PENDING)
			continue;
		if (a != NULL && *a != '\0' &&
		    profile_check_value(PROFILE_KEY_TO, a, &cause) == 0)
			continue;
		shown = text_escape(a ? a : "");
		why = xasprintf("the stored recipient '%s' %s", shown,
		    cause ? cause : "is empty");
		goto out;
	}
	if (message_data_check(m->data, m->datalen, &cause) != 0)
		why = xasprintf("the stored data cannot be sent as it is: %s",
		    cause);
	free(cause);
	return why;
out:
	free(shown);
	free(cause);
	return why;
}

/* A message the store holds in a form that must not be sent: failed. */
static void
refuse(struct wctx *c, struct store_qmsg *m, const char *why)
{
	static const struct smtp_result none = { 0 };

	outcome(c, m, SMTP_ERR_DATA, &none, why, NULL);
}

/* What smtp_send_stream() walks: the claimed messages from first on. */
struct stream_ctx {
	struct wctx		 *c;
	struct store_qmsg	 *v;
	size_t			  first, n;
	const char		**addr;		/* the message's pending */
};

/*
 * Before each message: outcomes old enough are committed, and a commit by
 * anyone else (PRAGMA data_version) that changed the configuration ends
 * the stream, so the worker reloads it before the next message.
 */
static bool
stream_next(void *arg, size_t i, struct smtp_message *msg)
{
	struct stream_ctx *sc = arg;
	struct wctx *c = sc->c;
	struct store_qmsg *m;
	char *why;
	size_t k = 0;

	if (sc->first + i >= sc->n || atomic_load(&c->w->r->stop))
		return false;
	if (c->npending > 0 && ms_since(&c->first_pending) >= GROUP_MS)
		flush_pending(c);
	if (i > 0 && config_moved(c)) {
		c->stale = true;	/* config_check() reloads it */
		return false;
	}
	m = &sc->v[sc->first + i];
	/* deliver() checked the first; the worker refuses this one. */
	if (i > 0 && (why = message_problem(m)) != NULL) {
		free(why);
		return false;
	}
	free(sc->addr);
	sc->addr = xcalloc(m->nrcpt + 1, sizeof *sc->addr);
	for (size_t j = 0; j < m->nrcpt; j++) {
		if (m->rcpt[j].state == QUEUE_RCPT_PENDING)
			sc->addr[k++] = m->rcpt[j].addr;
	}
	msg->from = m->sender;
	msg->rcpt = sc->addr;
	msg->nrcpt = k;
	msg->data = m->data;
	msg->len = m->datalen;
	return true;
}

static void
stream_done(void *arg, size_t i, enum smtp_status st,
    const struct smtp_result *res, const char *cause)
{
	struct stream_ctx *sc = arg;

	outcome(sc->c, &sc->v[sc->first + i], st, res, cause, NULL);
}

/*
 * Delivers v[*i] and as many after it as one session carries without a
 * configuration change; *i moves past the messages attempted.
 */
static void
deliver(struct wctx *c, struct store_qmsg *v, size_t n, size_t *i)
{
	static const struct smtp_stream ops = { stream_next, stream_done };
	struct stream_ctx sc = { .c = c, .v = v, .first = *i, .n = n };
	struct smtp_result none = { 0 };
	struct smtp_probe pr = { 0 };
	char *why;

	if ((why = message_problem(&v[*i])) != NULL) {
		refuse(c, &v[(*i)++], why);
		free(why);
		return;
	}
	if (c->session == NULL && c->open_cause == NULL)
		c->open_st = smtp_open(c->p, c->helo, &pr, &c->session,
		    &c->open_cause);
	if (c->session == NULL) {
		/* The rest of this batch meets the same closed door. */
		outcome(c, &v[(*i)++], c->open_st, &none, c->open_cause, &pr);
		smtp_probe_clear(&pr);
		return;
	}
	smtp_probe_clear(&pr);
	*i += smtp_send_stream(c->session, &ops, &sc);
	free(sc.addr);
	if (!smtp_usable(c->session)) {
		smtp_close(c->session);
		c->session = NULL;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct runner *r = w->r;
	struct wctx c = { .w = w };
	char *cause = NULL;
	int rc;

	c.pending = xcalloc(GROUP_MAX, sizeof *c.pending);
	rc = store_open(r->o->db, "gwengine", &c.store, &cause);
	if (rc != STORE_OK) {
		log_error("%s", cause);
		atomic_store(&r->store_failed, true);
		goto out;
	}
	config_load(&c);
	while (!atomic_load(&r->stop)) {
		struct store_qmsg *v = NULL;
		size_t n = 0, i;
		time_t now = time(NULL);

		if (c.problem != NULL) {
			/* Nothing to claim: hold what is due, in one go. */
			size_t held = 0;

			if (store_queue_hold(c.store, w->profile, c.problem,
			    now, now + HOLD_SECONDS, &held, &cause) !=
			    STORE_OK) {
				log_error("holding the queue of %s: %s",
				    w->profile, cause);
				atomic_store(&r->store_failed, true);
			} else if (held > 0) {
				log_info("profile=%s: %zu message%s wait%s: "
				    "%s", w->profile, held, held == 1 ? "" :
				    "s", held == 1 ? "s" : "", c.problem);
				atomic_fetch_add(&r->held, held);
			}
			break;
		}
		rc = store_queue_claim(c.store, w->profile, w->owner, now,
		    now + r->lease, w->claim, &v, &n, &cause);
		if (rc != STORE_OK) {
			log_error("claiming messages of %s: %s", w->profile,
			    cause);
			atomic_store(&r->store_failed, true);
			break;
		}
		if (n == 0)
			break;
		free(c.open_cause);
		c.open_cause = NULL;
		for (i = 0; i < n && !atomic_load(&r->stop);) {
			if (c.npending > 0 &&
			    ms_since(&c.first_pending) >= GROUP_MS)
				flush_pending(&c);
			config_check(&c);
			if (c.problem != NULL)
				hold(&c, &v[i++]);
			else
				deliver(&c, v, n, &i);
		}
		flush_pending(&c);
		if (i < n)	/* stopped: the rest go back unattempted */
			store_queue_release(c.store, w->owner, NULL, NULL);
		store_qmsg_free_array(v, n);
		free(cause);
		cause = NULL;
	}
out:
	flush_pending(&c);
	if (c.store != NULL)
		store_queue_release(c.store, w->owner, NULL, NULL);
	smtp_close(c.session);
	config_clear(&c);
	store_close(c.store);
	free(c.open_cause);
	free(c.pending);
	free(cause);
	atomic_store(&w->done, true);
	(void)!write(r->wake[1], "", 1);
	return NULL;
}

/* Main thread. */

static size_t
workers_for(struct runner *r, const char *profile)
{
	size_t n = 0;

	for (struct worker *w = r->workers; w != NULL; w = w->next)
		n += strcmp(w->profile, profile) == 0;
	return n;
}

static void
worker_start(struct runner *r, const char *profile, size_t claim)
{
	struct worker *w = xcalloc(1, sizeof *w);
	sigset_t all, old;
	int rc;

	w->r = r;
	w->profile = xstrdup(profile);
	w->owner = xasprintf("%s/w%u", r->owner, ++r->seq);
	w->claim = claim;
	/* Signals are the main thread's: workers start with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_error("cannot start a worker: %s", strerror(rc));
		free(w->profile);
		free(w->owner);
		free(w);
		return;
	}
	w->next = r->workers;
	r->workers = w;
}

/* Joins the workers that ended (all of them with all set). */
static void
workers_reap(struct runner *r, bool all)
{
	struct worker **pp = &r->workers;
	char buf[64];

	while (read(r->wake[0], buf, sizeof buf) > 0)
		;
	while (*pp != NULL) {
		struct worker *w = *pp;

		if (!all && !atomic_load(&w->done)) {
			pp = &w->next;
			continue;
		}
		pthread_join(w->thread, NULL);
		*pp = w->next;
		free(w->profile);
		free(w->owner);
		free(w);
	}
}

/* Starts workers where messages are due, up to max_connections each. */
static void
workers_plan(struct runner *r, struct store *s, const struct store_qdue *due,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct profile *p = NULL;
		char *cause = NULL;
		size_t max = 1, running = workers_for(r, due[i].profile);
		size_t want, claim;

		if (store_profile_get(s, due[i].profile, &p, &cause) ==
		    STORE_OK && p->max_connections > 0)
			max = (size_t)p->max_connections;
		profile_free(p);
		free(cause);
		want = (due[i].count + 7) / 8;	/* no session for a few */
		if (want > max)
			want = max;
		if (want == 0)
			want = 1;
		claim = (due[i].count + want - 1) / want;
		if (claim > CLAIM_MAX)
			claim = CLAIM_MAX;
		if (claim == 0)
			claim = 1;
		while (running < want) {
			worker_start(r, due[i].profile, claim);
			running++;
		}
	}
}

static void
renew_leases(struct runner *r, struct store *s, time_t now)
{
	char *cause = NULL;
	size_t freed = 0;

	for (struct worker *w = r->workers; w != NULL; w = w->next) {
		if (store_queue_renew(s, w->owner, now + r->lease,
		    &cause) != STORE_OK) {
			log_error("extending the leases: %s", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (store_queue_recover(s, owner_alive, NULL, &freed, &cause) !=
	    STORE_OK)
		log_error("freeing the messages of stopped engines: %s",
		    cause);
	else if (freed > 0)
		log_info("%zu messages claimed by an engine that is gone are "
		    "queued again", freed);
	free(cause);
}

/* How often the leases are renewed: a quarter of their length. */
static time_t
renew_every(const struct runner *r)
{
	return r->lease >= 8 ? r->lease / 4 : 1;
}

/* What wakes the idle daemon: others' commits (store_notify_fd()). */
static int
watch_store(struct store *s)
{
	char *cause = NULL;
	int fd = store_notify_fd(s, &cause);

	if (fd == -1)
		log_error("%s: new messages are seen within %d s", cause,
		    IDLE_SECONDS);
	free(cause);
	return fd;
}

/* Removes sent and failed entries older than PURGE_SECONDS. */
static void
purge(struct store *s, time_t now)
{
	char *cause = NULL;
	size_t n = 0;

	if (store_queue_purge(s, now - PURGE_SECONDS, &n, &cause) != STORE_OK)
		log_error("removing old queue entries: %s", cause);
	else if (n > 0)
		log_info("run: removed %zu sent or failed entries older than "
		    "%d days", n, PURGE_SECONDS / 86400);
	free(cause);
}

/* Reads one signal: SIGTERM/SIGINT stop, a second one ends at once. */
static void
take_signal(struct runner *r, int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof si) != sizeof si)
		return;
	if (si.ssi_signo == SIGHUP) {
		log_info("run: SIGHUP: nothing to reload; the configuration "
		    "is read before each message");
		return;
	}
	if (atomic_load(&r->stop)) {
		/* What is in flight stays claimed; the next run takes it. */
		log_info("run: signal %u again: stopping now", si.ssi_signo);
		_exit(EX_TEMPFAIL);
	}
	/*
	 * Stopped before it is said: no message may begin after the line
	 * (and no network wait outlives a profile's timeout from now on).
	 */
	deadline_stop();
	atomic_store(&r->stop, true);
	log_info("run: signal %u: finishing the messages in flight",
	    si.ssi_signo);
}

int
runner_main(const struct runner_opts *o)
{
	struct runner r = { .o = o, .wake = { -1, -1 },
	    .lease = o->lease > 0 ? o->lease : RUNNER_LEASE_DEFAULT };
	struct store *s = NULL;
	struct store_qdue *due = NULL;
	sigset_t sigs;
	char *cause = NULL;
	long long gen = 0, g;
	time_t now, next = 0, last_renew, last_purge, pause_until = 0;
	size_t ndue = 0;
	int sigfd = -1, ino = -1, rc;	/* ino: owned by s */

	if (o->syslog)
		log_use_syslog();
	signal(SIGPIPE, SIG_IGN);
	owner_self(r.owner, sizeof r.owner);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    pipe2(r.wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_error("run: %s", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	if ((rc = store_open(o->db, "gwengine", &s, &cause)) != STORE_OK) {
		rc = gwengine_store_exit(rc, cause);
		goto out;
	}
	now = last_renew = last_purge = time(NULL);
	renew_leases(&r, s, now);
	purge(s, now);
	/* The configuration may have changed while no engine ran. */
	if (store_config_generation(s, &gen, &cause) != STORE_OK ||
	    store_queue_wake_held(s, now, &cause) != STORE_OK) {
		log_error("%s", cause);
		free(cause);
		cause = NULL;
	}
	if (!o->once) {
		ino = watch_store(s);
		log_info("run: delivering the queue of %s", o->db);
	}
	rc = 0;
	for (;;) {
		struct pollfd pfd[3];
		int npfd = 0, timeout;
		bool changed = false;

		workers_reap(&r, false);
		if (atomic_load(&r.stop))
			break;
		now = time(NULL);
		if (atomic_exchange(&r.store_failed, false)) {
			if (o->once) {
				rc = EX_TEMPFAIL;
				break;
			}
			pause_until = now + PAUSE_SECONDS;
		}
		/* A configuration change wakes what waited for one. */
		if (store_changed(s, &changed, &cause) == STORE_OK && changed &&
		    store_config_generation(s, &g, &cause) == STORE_OK &&
		    g != gen) {
			gen = g;
			if (store_queue_wake_held(s, now, &cause) != STORE_OK)
				log_error("%s", cause);
		}
		free(cause);
		cause = NULL;
		if (now - last_renew >= renew_every(&r)) {
			renew_leases(&r, s, now);
			last_renew = now;
		}
		if (now - last_purge >= PURGE_EVERY) {
			purge(s, now);
			last_purge = now;
		}
		for (size_t i = 0; i < ndue; i++)
			free(due[i].profile);
		free(due);
		due = NULL;
		ndue = 0;
		if (store_queue_due(s, now, &due, &ndue, &next, &cause) !=
		    STORE_OK) {
			log_error("reading the queue: %s", cause);
			free(cause);
			cause = NULL;
			if (o->once) {
				rc = EX_TEMPFAIL;
				break;
			}
			pause_until = now + PAUSE_SECONDS;
		}
		if (now >= pause_until)
			workers_plan(&r, s, due, ndue);
		if (o->once && r.workers == NULL && ndue == 0)
			break;

		pfd[npfd++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[npfd++] = (struct pollfd){ .fd = r.wake[0],
		    .events = POLLIN };
		if (r.workers != NULL)
			timeout = 1000;
		else if (now < pause_until)
			timeout = (int)(pause_until - now) * 1000;
		else {
			long secs = next > now ? next - now : IDLE_SECONDS;

			if (secs > IDLE_SECONDS)
				secs = IDLE_SECONDS;
			timeout = (int)secs * 1000;
			if (ino != -1)
				pfd[npfd++] = (struct pollfd){ .fd = ino,
				    .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)npfd, timeout) == -1 && errno != EINTR) {
			log_error("run: poll: %s", strerror(errno));
			rc = EX_OSERR;
			break;
		}
		if (pfd[0].revents & POLLIN)
			take_signal(&r, sigfd);
	}
	atomic_store(&r.stop, true);
	while (r.workers != NULL) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = r.wake[0], .events = POLLIN },
		};

		/* A second signal while the workers finish ends at once. */
		if (poll(pfd, 2, 1000) > 0 && (pfd[0].revents & POLLIN))
			take_signal(&r, sigfd);
		workers_reap(&r, false);
	}
	log_info("run: %zu sent, %zu deferred, %zu failed, %zu held",
	    atomic_load(&r.sent), atomic_load(&r.deferred),
	    atomic_load(&r.failed), atomic_load(&r.held));
out:
	for (size_t i = 0; i < ndue; i++)
		free(due[i].profile);
	free(due);
	store_close(s);
	if (sigfd != -1)
		close(sigfd);
	if (r.wake[0] != -1) {
		close(r.wake[0]);
		close(r.wake[1]);
	}
	return rc;
}
